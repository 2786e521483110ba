"""embedded_catalog plugin."""
