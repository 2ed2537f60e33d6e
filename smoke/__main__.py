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
    try:
        from smoke.cli import main
    except ModuleNotFoundError as exc:  # run outside the venv nox makes for it
        sys.stderr.write(
            f"smoke: error: {exc.name} is not installed in this Python; run the smoke "
            "through nox (`nox -s smoke_lite -- ...`), or `pip install -e .` first\n"
        )
        sys.exit(2)

    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Every file is written and every thread done by now: skip the interpreter's
    # teardown of the modules it loaded.
    os._exit(status)


if __name__ == "__main__":
    entry()
