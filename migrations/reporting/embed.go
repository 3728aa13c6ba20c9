// Package reporting embeds the reporting schema's goose migrations, so the reporting binary
// carries its own schema and no other service's; sqlc reads the same files
// as the schema of its queries.
package reporting

import (
	"embed"
	"io/fs"
)

//go:embed *.sql
var files embed.FS

// Migrations are the reporting schema's migrations, in goose's file naming.
var Migrations fs.FS = files
