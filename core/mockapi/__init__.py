"""mockapi."""
