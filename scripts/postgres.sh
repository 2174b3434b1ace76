#!/usr/bin/env bash
# A throwaway PostgreSQL server for the store tests.
#   scripts/postgres.sh start   installs Debian's postgresql if missing, starts a cluster in a
#                               temp dir (unix socket + 127.0.0.1 on a free port) and prints
#                               RADARCORE_TEST_POSTGRES_URL=postgresql://...
#   scripts/postgres.sh stop    stops that cluster and removes its directory.
# The cluster's directory is remembered in $RADARCORE_PG_STATE (default build/postgres.state).
set -euo pipefail
state="${RADARCORE_PG_STATE:-build/postgres.state}"

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [[ -z "$dir" ]]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends postgresql >&2
    dir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  fi
  echo "$dir"
}

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
  start)
    bin=$(pg_bin)
    dir=$(mktemp -d /tmp/radarcore-pg.XXXXXX)
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >/dev/null
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o "-p $port -k $dir -h 127.0.0.1 -F" start >/dev/null
    mkdir -p "$(dirname "$state")"
    echo "$dir" > "$state"
    echo "RADARCORE_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    [[ -f "$state" ]] || { echo "no cluster recorded in $state" >&2; exit 1; }
    dir=$(cat "$state")
    as_owner "$(pg_bin)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    rm -rf "$dir" "$state"
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
