"""component_types plugin."""
