"""On-demand reports of one plume or one source (figures and profile files), without Dagster:
used by ``cm-assets plume|source`` and by the ``plume_report`` / ``source_report`` jobs."""
