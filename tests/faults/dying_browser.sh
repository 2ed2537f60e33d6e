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
kill -9 "$chromium"
wait "$chromium"
exit 1
