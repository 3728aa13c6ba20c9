#!/usr/bin/env bash
# stores.sh start|stop: the cluster's PostgreSQL and Redis, outside it as
# most installations run them: instances of this machine's binaries that
# listen on the node's address (where pods reach the host) and loopback,
# with a password made up for the run. start writes their URLs to
# $K8S_STATE/stores.env: DB_URL and REDIS_URL as pods use them.
set -euo pipefail
# shellcheck source=env.sh
source "$(dirname "$0")/env.sh"
base=$K8S_STATE/stores
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_postgres() { runuser -u postgres -- "$@"; }

case ${1:-} in
start)
	mkdir -p "$base/redis"
	password=$(openssl rand -hex 16)
	# PostgreSQL refuses to run as root: the Debian package's postgres user.
	install -d -o postgres -g postgres "$base/postgres"
	echo "$password" > "$base/pgpass"
	chown postgres "$base/pgpass"
	as_postgres "$pg_bin/initdb" -D "$base/postgres/data" -U co2 --pwfile "$base/pgpass" --auth-local=trust \
		--auth-host=scram-sha-256 --encoding UTF8 --no-sync > "$base/initdb.log"
	echo "host all all 0.0.0.0/0 scram-sha-256" >> "$base/postgres/data/pg_hba.conf"
	ln -sf "$base/postgres/postgres.log" "$K8S_STATE/logs/postgres.log"
	as_postgres "$pg_bin/pg_ctl" -D "$base/postgres/data" -l "$base/postgres/postgres.log" -w start -o \
		"-p $K8S_DB_PORT -c listen_addresses=127.0.0.1,$NODE_IP -k $base/postgres -c fsync=off -c max_connections=200" > /dev/null
	as_postgres "$pg_bin/createdb" -h "$base/postgres" -p "$K8S_DB_PORT" -U co2 co2
	redis-server --bind "127.0.0.1 $NODE_IP" --port "$K8S_REDIS_PORT" --requirepass "$password" --dir "$base/redis" \
		--appendonly yes --maxmemory-policy noeviction --save '' --daemonize yes --pidfile "$base/redis.pid" \
		--logfile "$K8S_STATE/logs/redis.log"
	cat > "$K8S_STATE/stores.env" <<ENV
DB_URL=postgres://co2:$password@$NODE_IP:$K8S_DB_PORT/co2?sslmode=disable
REDIS_URL=redis://:$password@$NODE_IP:$K8S_REDIS_PORT/0
ENV
	chmod 600 "$K8S_STATE/stores.env"
	log "PostgreSQL :$K8S_DB_PORT and Redis :$K8S_REDIS_PORT on $NODE_IP"
	;;
stop)
	if [ -f "$base/postgres/data/postmaster.pid" ]; then
		as_postgres "$pg_bin/pg_ctl" -D "$base/postgres/data" -m fast -w stop > /dev/null || true
	fi
	if [ -f "$base/redis.pid" ]; then
		kill "$(cat "$base/redis.pid")" 2> /dev/null || true
	fi
	;;
*)
	echo "usage: $0 start|stop" >&2
	exit 2
	;;
esac
