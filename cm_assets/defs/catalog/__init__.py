"""The plume catalog, partitioned by observation day."""
