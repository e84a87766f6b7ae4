"""DuckDB warehouse: spatial-enabled connections, views over the GeoParquet tables, read-only SQL."""
