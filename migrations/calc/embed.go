// Package calc embeds the calc schema's goose migrations, so the calc binary
// carries its own schema and no other service's; sqlc reads the same files
// as the schema of its queries.
package calc

import (
	"embed"
	"io/fs"
)

//go:embed *.sql
var files embed.FS

// Migrations are the calc schema's migrations, in goose's file naming.
var Migrations fs.FS = files
