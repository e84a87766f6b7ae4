"""The DuckDB warehouse (views over the GeoParquet tables) and the refresh jobs."""
