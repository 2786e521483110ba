"""components plugin."""
