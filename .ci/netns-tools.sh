#!/usr/bin/env bash
# What the remote-engine tests need to build a second engine in a network
# namespace: ip (iproute2), nsenter (util-linux) and iptables. Idempotent.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"

missing=()
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v nsenter >/dev/null 2>&1 || missing+=(util-linux)
command -v iptables >/dev/null 2>&1 || missing+=(iptables)
if ((${#missing[@]})); then
  ci_log "netns tools: installing ${missing[*]}"
  ci_retry 3 5 ci_apt update -qq
  ci_retry 3 5 ci_apt install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
ci_log "netns tools: ready"
