"""Built-in plugin families and outputs; each loads through the openchoreo_sync.plugins entry-point group."""
