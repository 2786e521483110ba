"""backstage plugin."""
