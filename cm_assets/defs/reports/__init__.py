"""On-demand report jobs (``plume_report``, ``source_report``): the CLI's reports from the UI."""
