// Package apidocs serves the API reference: the OpenAPI 3.1 spec generated
// from proto/ (openapi.json) and a Swagger UI page over it, all embedded, so
// nothing is fetched from a CDN when the page is viewed.
package apidocs

import (
	"embed"
	"io/fs"
	"net/http"
	"net/url"
)

//go:embed openapi.json
var spec []byte

//go:embed assets/swagger-ui-bundle.js assets/swagger-ui.css
var assets embed.FS

//go:embed page/index.html page/init.js
var page embed.FS

// Register mounts /openapi.json, /docs and /docs/assets/ on mux; the
// document names issuerURL (OAUTH_ISSUER_URL) as its OIDC scheme.
func Register(mux *http.ServeMux, issuerURL string) error {
	document, err := Document(spec, issuerURL)
	if err != nil {
		return err
	}
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(document)
	})
	mux.HandleFunc("GET /docs", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/docs/", http.StatusMovedPermanently)
	})
	pageFiles, _ := fs.Sub(page, "page")
	assetFiles, _ := fs.Sub(assets, "assets")
	policy := pagePolicy(issuerURL)
	mux.Handle("GET /docs/", withPolicy(policy, http.StripPrefix("/docs/", http.FileServerFS(pageFiles))))
	mux.Handle("GET /docs/assets/", withPolicy(policy, http.StripPrefix("/docs/assets/", http.FileServerFS(assetFiles))))
	return nil
}

// pagePolicy lets the page load only its own embedded files, and call the
// API and the OIDC issuer (whose discovery the Authorize dialog reads).
func pagePolicy(issuerURL string) string {
	connect := "'self'"
	if issuer, err := url.Parse(issuerURL); err == nil && issuer.Scheme != "" && issuer.Host != "" {
		connect += " " + issuer.Scheme + "://" + issuer.Host
	}
	return "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src " + connect
}

func withPolicy(policy string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", policy)
		next.ServeHTTP(w, r)
	})
}
