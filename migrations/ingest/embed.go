// Package ingest embeds the ingest schema's goose migrations, so the ingest binary
// carries its own schema and no other service's; sqlc reads the same files
// as the schema of its queries.
package ingest

import (
	"embed"
	"io/fs"
)

//go:embed *.sql
var files embed.FS

// Migrations are the ingest schema's migrations, in goose's file naming.
var Migrations fs.FS = files
