#!/usr/bin/env bash
# Fetches the API reference page's assets (Swagger UI) from the npm registry
# at a pinned version and writes the files the gateway embeds. Run by
# `make generate`; the output is committed so that builds need no network.
set -euo pipefail

out=${1:-services/gateway/internal/apidocs/assets}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$(dirname "$0")/../npmpack.sh" swagger-ui-dist 5.35.0 \
	sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ== "$work"
mkdir -p "$out"
for file in swagger-ui-bundle.js swagger-ui.css LICENSE; do
	cp "$work/package/$file" "$out/$file"
done
echo "swagger-ui-dist 5.35.0" > "$out/VERSION"
