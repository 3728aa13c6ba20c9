#!/usr/bin/env bash
# stores-image.sh POSTGRES_REF REDIS_REF: where the official postgres and
# redis images cannot be pulled, builds one stand-in from Debian's packages
# (PostgreSQL 15, Redis 7 of bookworm, as the official tags
# 15-bookworm and 7-bookworm) with stores-entrypoint.sh, and names it
# both. Needs root, mmdebstrap and podman; about a minute.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
postgres_ref=$1 redis_ref=$2
command -v mmdebstrap > /dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap > /dev/null; }
mirror=$(awk '/^URIs:/ {print $2; exit} /^deb / {print $2; exit}' /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list 2> /dev/null || true)
mmdebstrap --quiet --variant=minbase --include=postgresql-15,redis-server \
	--aptopt='APT::Install-Recommends "false"' \
	--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
	--customize-hook="copy-in $here/stores-entrypoint.sh /usr/local/bin" \
	bookworm - ${mirror:-http://deb.debian.org/debian} |
	podman import --quiet --change 'ENTRYPOINT ["/usr/local/bin/stores-entrypoint.sh"]' --change 'CMD ["postgres"]' \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$postgres_ref" > /dev/null
podman tag "$postgres_ref" "$redis_ref"
