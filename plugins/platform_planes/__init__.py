"""platform_planes plugin."""
