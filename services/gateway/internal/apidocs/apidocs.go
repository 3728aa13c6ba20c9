// Package apidocs serves the API reference: the OpenAPI 3.1 spec generated
// from proto/ (openapi.json) and a Swagger UI page over it, all embedded, so
// nothing is fetched from a CDN when the page is viewed.
package apidocs

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed openapi.json
var spec []byte

//go:embed assets/swagger-ui-bundle.js assets/swagger-ui.css
var assets embed.FS

//go:embed page/index.html page/init.js
var page embed.FS

// Spec returns the OpenAPI document.
func Spec() []byte { return spec }

// Register mounts /openapi.json, /docs and /docs/assets/ on mux.
func Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(spec)
	})
	mux.HandleFunc("GET /docs", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/docs/", http.StatusMovedPermanently)
	})
	pageFiles, _ := fs.Sub(page, "page")
	assetFiles, _ := fs.Sub(assets, "assets")
	mux.Handle("GET /docs/", withPolicy(http.StripPrefix("/docs/", http.FileServerFS(pageFiles))))
	mux.Handle("GET /docs/assets/", withPolicy(http.StripPrefix("/docs/assets/", http.FileServerFS(assetFiles))))
}

// withPolicy lets the page load only its own embedded files.
func withPolicy(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'")
		next.ServeHTTP(w, r)
	})
}
