#!/usr/bin/env bash
# A browser for the full smoke's web page (browser) step: Debian's chromium, driven
# by Playwright with executable_path (Playwright's own download needs the internet).
# Idempotent: returns at once when a system Chromium is on PATH.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"

for name in chromium chromium-browser google-chrome; do
  if command -v "$name" >/dev/null 2>&1; then
    ci_log "browser: $name already installed ($("$name" --version 2>/dev/null | head -n 1))"
    exit 0
  fi
done
ci_log "browser: installing Debian's chromium"
export DEBIAN_FRONTEND=noninteractive
ci_retry 3 5 apt-get update -qq
ci_retry 3 5 apt-get install -y -qq --no-install-recommends chromium >/dev/null
ci_log "browser: $(chromium --version | head -n 1) ready"
