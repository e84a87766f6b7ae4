"""cm_assets: Carbon Mapper plume data as a Dagster asset graph."""
