"""``fake-acrnctl``: a drop-in acrnctl of a chosen ACRN release, for tests (see main.py)."""
