"""L2B scene crops around each plume (windowed COG reads of the parent scene)."""
