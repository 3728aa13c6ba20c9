#!/bin/sh
# Entrypoint of the stand-in for the official postgres and redis images
# (stores-image.sh), where their registry cannot be reached: Debian's
# packages behind the contract deploy/compose.yaml uses of them.
#   postgres (the default): POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB,
#     the data in PGDATA (/var/lib/postgresql/data), password logins
#   redis-server ARGS...: the data in /data, reachable from the network
set -eu
case "${1:-postgres}" in
postgres)
	bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
	data=${PGDATA:-/var/lib/postgresql/data}
	user=${POSTGRES_USER:-postgres}
	mkdir -p "$data" /var/run/postgresql
	chown postgres:postgres "$data" /var/run/postgresql
	chmod 700 "$data"
	if [ ! -s "$data/PG_VERSION" ]; then
		password=$(mktemp)
		printf '%s\n' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}" > "$password"
		chown postgres "$password"
		runuser -u postgres -- "$bin/initdb" -D "$data" -U "$user" --pwfile="$password" \
			--auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 > /dev/null
		rm -f "$password"
		echo "host all all all scram-sha-256" >> "$data/pg_hba.conf"
		# As the official image: a database named POSTGRES_DB, or after the user.
		if [ "${POSTGRES_DB:-$user}" != postgres ]; then
			runuser -u postgres -- "$bin/pg_ctl" -D "$data" -o "-c listen_addresses='' -k /tmp" -w start > /dev/null
			runuser -u postgres -- "$bin/createdb" -h /tmp -U "$user" "${POSTGRES_DB:-$user}"
			runuser -u postgres -- "$bin/pg_ctl" -D "$data" -m fast -w stop > /dev/null
		fi
	fi
	exec runuser -u postgres -- "$bin/postgres" -D "$data" -c listen_addresses='*'
	;;
redis-server)
	shift
	mkdir -p /data
	chown redis:redis /data
	exec runuser -u redis -- redis-server --dir /data --protected-mode no "$@"
	;;
*)
	exec "$@"
	;;
esac
