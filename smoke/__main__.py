"""``python -m smoke`` and the ``smoke`` console script. ``smoke.cli.main`` does the
work and maps every outcome to its exit status; this starts and ends the process."""

from __future__ import annotations

import gc
import os
import sys


def entry() -> None:
    # A short-lived command: collecting while python-on-whales' models load costs
    # more than it frees.
    gc.disable()
    from smoke.cli import main

    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Every file is written and every thread done by now: skip the interpreter's
    # teardown of the modules it loaded.
    os._exit(status)


if __name__ == "__main__":
    entry()
