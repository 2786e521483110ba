"""namespaces plugin."""
