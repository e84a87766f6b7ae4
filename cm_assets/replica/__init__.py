"""Local replica of the Carbon Mapper API: a deterministic synthetic world served over HTTP.

``world`` builds the tables, ``query`` selects rows the way the API filters them, ``records``
renders the JSON/CSV/STAC shapes, ``rasters`` generates the files and ``server`` serves them.
"""
