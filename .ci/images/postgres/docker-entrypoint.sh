#!/bin/sh
# Initialise a cluster on first start, the way the official postgres image does: the
# superuser POSTGRES_USER with POSTGRES_PASSWORD, and the database POSTGRES_DB it owns.
# The cluster is a copy of the one made when the image was built.
set -eu
if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
  user=${POSTGRES_USER:-postgres}
  db=${POSTGRES_DB:-$user}
  mkdir -p "$PGDATA"
  cp -a "$CONTOSO_CLUSTER/." "$PGDATA/"
  chmod 0700 "$PGDATA"
  # SQL literals: a name's double quotes and the password's single quotes doubled.
  name=$(printf '%s' "$user" | sed 's/"/""/g')
  password=$(printf '%s' "$POSTGRES_PASSWORD" | sed "s/'/''/g")
  {
    if [ "$user" = postgres ]; then
      printf "ALTER ROLE postgres PASSWORD '%s';\n\n" "$password"
    else
      printf "CREATE ROLE \"%s\" SUPERUSER LOGIN PASSWORD '%s';\n\n" "$name" "$password"
    fi
    if [ "$db" != postgres ]; then
      printf 'CREATE DATABASE "%s" OWNER "%s";\n\n' "$(printf '%s' "$db" | sed 's/"/""/g')" "$name"
    fi
  } | postgres --single -D "$PGDATA" -j postgres >/dev/null
  echo "docker-entrypoint: initialised database \"$db\" for user \"$user\""
fi
exec "$@"
