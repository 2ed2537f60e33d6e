#!/usr/bin/env bash
# Make a Docker engine answer: install Debian's docker.io if needed, start dockerd.
# Idempotent: on a machine whose engine already answers it returns at once.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"

engine_answers() { timeout 5 docker info >/dev/null 2>&1; }

if engine_answers; then
  ci_log "docker engine: already running"
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  ci_log "docker engine: installing Debian's docker.io"
  ci_retry 3 5 ci_apt update -qq
  ci_retry 3 5 ci_apt install -y -qq --no-install-recommends docker.io iptables >/dev/null
fi

ci_log "docker engine: starting dockerd (log: /var/log/dockerd.log)"
nohup dockerd >/var/log/dockerd.log 2>&1 &
# Bounded wait: 60 s at most.
for _ in $(seq 1 120); do
  engine_answers && { ci_log "docker engine: ready"; exit 0; }
  sleep 0.5
done
tail -n 30 /var/log/dockerd.log >&2 || true
ci_die "dockerd did not answer within 60 s; see /var/log/dockerd.log"
