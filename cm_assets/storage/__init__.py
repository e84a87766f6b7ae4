"""The data root, no Dagster: ``store`` (files under a local path or fsspec URL, atomic writes) and
``layout`` (where every file lives)."""
