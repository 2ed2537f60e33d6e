"""The benchmark behind ``nox -s bench`` (``python -m bench``): scenarios, figures, report."""
