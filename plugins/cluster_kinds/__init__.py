"""cluster_kinds plugin."""
