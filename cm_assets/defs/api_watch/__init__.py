"""Watching the API: sensors (new and re-processed plumes, deferred scenes) and the daily schedule
that request the observation days which changed upstream, their cursors and the re-processing
history. (Not Dagster's FreshnessPolicy: what follows the days downstream is
``cm_assets.defs.automation``.)"""
