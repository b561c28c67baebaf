"""``acrn_golden``: an argv against a named golden fixture (placeholder replaced below)."""
