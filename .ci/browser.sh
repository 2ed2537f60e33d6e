#!/usr/bin/env bash
# A browser for the full smoke's web page (browser) step: Debian's chromium and its
# headless shell, driven by Playwright with executable_path (Playwright's own
# download needs the internet).
# Idempotent: returns at once when both are on PATH.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"

# The headless shell is what the smoke launches (half the CPU at start); the full
# chromium is what some tests screenshot pages with.
if command -v chromium-headless-shell >/dev/null 2>&1 && command -v chromium >/dev/null 2>&1; then
  ci_log "browser: chromium and its headless shell already installed ($(chromium --version 2>/dev/null | head -n 1))"
  exit 0
fi
ci_log "browser: installing Debian's chromium and chromium-headless-shell"
ci_retry 3 5 ci_apt update -qq
ci_retry 3 5 ci_apt install -y -qq --no-install-recommends chromium chromium-headless-shell >/dev/null
ci_log "browser: $(chromium --version | head -n 1) ready"
