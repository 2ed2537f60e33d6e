"""contoso-smoke: an integration smoke for the web -> chat -> db stack.

Run it with ``nox -s smoke`` or ``nox -s smoke_lite``; see the README.
"""

__version__ = "0.1.0"
