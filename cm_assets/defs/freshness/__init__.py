"""Keeping the warehouse current: sensors and schedules that re-materialize what changed upstream."""
