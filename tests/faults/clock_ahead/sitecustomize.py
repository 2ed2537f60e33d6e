"""Fault: a service whose clock is ahead (CLOCK_AHEAD_SECONDS), as on a host with a
wrong clock or a remote engine: every wall-clock read of the process, its spans'
times included, is that far ahead. Loaded by Python's `site` from PYTHONPATH."""

import os
import time

_AHEAD_NS = int(float(os.environ.get("CLOCK_AHEAD_SECONDS", "0")) * 1e9)
_time_ns = time.time_ns
_time = time.time
time.time_ns = lambda: _time_ns() + _AHEAD_NS
time.time = lambda: _time() + _AHEAD_NS / 1e9
