package gateway

import (
	connectcors "connectrpc.com/cors"
	"github.com/rs/cors"
)

// corsHandler allows browsers on the configured origins (CORS_ORIGINS) to
// call the API; with no origins configured, cross-origin calls are refused.
func corsHandler(origins []string) *cors.Cors {
	return cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: append(connectcors.AllowedMethods(), "PUT", "PATCH", "DELETE"),
		AllowedHeaders: append(connectcors.AllowedHeaders(), "Authorization", "Content-Type"),
		ExposedHeaders: append(connectcors.ExposedHeaders(), "Location", "Retry-After",
			"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", TraceHeader),
		AllowCredentials: true,
		MaxAge:           7200,
	})
}
