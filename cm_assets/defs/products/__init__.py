"""Per-plume products (L3A rasters and outlines) and their statistics."""
