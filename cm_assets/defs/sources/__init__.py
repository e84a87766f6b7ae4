"""Sources (DBSCAN clusters) around the materialized plumes, attribution and per-source statistics."""
