"""files plugin."""
