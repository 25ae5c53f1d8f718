#!/bin/sh
# Entry point of the test images made by docker/test/Dockerfile: the little the official
# postgres and redis images do at start that compose.yaml relies on.
set -eu
role=$1
shift
case "$role" in
postgres)
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"
    user=${POSTGRES_USER:-postgres}
    printf '%s\n' "$POSTGRES_PASSWORD" > /tmp/pwfile
    initdb --username="$user" --pwfile=/tmp/pwfile --auth-local=trust \
      --auth-host=scram-sha-256 --encoding=UTF8 --no-instructions -D "$PGDATA" >/dev/null
    rm -f /tmp/pwfile
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    db=${POSTGRES_DB:-$user}
    if [ "$db" != postgres ]; then
      # A server for this alone, on a socket of its own: the health check (pg_isready on the
      # usual socket) must not take it for the real one.
      pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories=/tmp" -w start >/dev/null
      createdb --host=/tmp --username="$user" "$db"
      pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    fi
    echo "entrypoint: initialised $PGDATA with user $user and database $db" >&2
  fi
  exec postgres -c listen_addresses='*' "$@"
  ;;
redis)
  if [ "${1:-}" = redis-server ]; then
    exec "$@" --protected-mode no
  fi
  exec "$@"
  ;;
*)
  echo "entrypoint: unknown role $role" >&2
  exit 64
  ;;
esac
