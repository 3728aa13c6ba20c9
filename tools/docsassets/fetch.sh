#!/usr/bin/env bash
# Fetches the API reference page's assets (Swagger UI) from the npm registry
# at a pinned version, checks the package's integrity, and writes the files
# the gateway embeds. Run by `make generate`; the output is committed so that
# builds need no network.
set -euo pipefail

version=5.35.0
integrity=sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ==
out=${1:-services/gateway/internal/apidocs/assets}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "swagger-ui-dist@$version" >/dev/null)
tarball="$work/swagger-ui-dist-$version.tgz"
actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [ "$actual" != "$integrity" ]; then
	echo "swagger-ui-dist@$version: integrity $actual, want $integrity" >&2
	exit 1
fi
tar -xzf "$tarball" -C "$work"
mkdir -p "$out"
for file in swagger-ui-bundle.js swagger-ui.css LICENSE; do
	cp "$work/package/$file" "$out/$file"
done
echo "swagger-ui-dist $version" > "$out/VERSION"
