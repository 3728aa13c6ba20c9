// Package labs embeds the labs schema's goose migrations, so the labs binary
// carries its own schema and no other service's; sqlc reads the same files
// as the schema of its queries.
package labs

import (
	"embed"
	"io/fs"
)

//go:embed *.sql
var files embed.FS

// Migrations are the labs schema's migrations, in goose's file naming.
var Migrations fs.FS = files
