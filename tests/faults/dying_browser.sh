#!/bin/sh
# Fault: the smoke's own browser goes away under the run, once. The first launch
# (no $DYING_BROWSER_MARKER yet) starts Chromium and kills it a second later, before
# the browser step; every later launch is Chromium itself ($DYING_BROWSER_REAL).
marker="${DYING_BROWSER_MARKER:?}"
real="${DYING_BROWSER_REAL:?}"
if [ -e "$marker" ]; then
  exec "$real" "$@"
fi
: > "$marker"
"$real" "$@" &
chromium=$!
sleep 1
# Debian's chromium commands are shell scripts that start the binary as a child: the
# child goes first, then the script.
pkill -KILL -P "$chromium" 2>/dev/null || true
kill -KILL "$chromium" 2>/dev/null || true
wait "$chromium" 2>/dev/null || true
exit 1
