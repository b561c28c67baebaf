"""acrnkit."""
