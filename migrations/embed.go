// Package migrations embeds each service's goose migrations, so every service
// binary carries (and runs) the schema it needs. Each folder is one service's
// schema; sqlc reads the same files as the schema of its queries.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed labs/*.sql ingest/*.sql calc/*.sql reporting/*.sql
var files embed.FS

// The migrations of each service's schema.
var (
	Labs      = mustSub("labs")
	Ingest    = mustSub("ingest")
	Calc      = mustSub("calc")
	Reporting = mustSub("reporting")
)

func mustSub(dir string) fs.FS {
	sub, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // the folder is embedded above; this cannot fail at run time
	}
	return sub
}
