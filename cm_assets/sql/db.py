"""DuckDB connections with the spatial extension loaded from its registry package (offline)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from types import ModuleType

import duckdb
import duckdb_extension_spatial

EXTENSION_VERSION = "v" + duckdb.__version__


def extension_path(package: ModuleType, name: str) -> Path:
    """The file of extension ``name`` shipped inside its ``duckdb-extension-*`` registry package."""
    root = Path(package.__file__).parent / "extensions"
    exact = root / EXTENSION_VERSION / f"{name}.duckdb_extension"
    if exact.exists():
        return exact
    found = sorted(root.glob(f"*/{name}.duckdb_extension"))
    if not found:
        raise FileNotFoundError(f"no {name} extension under {root}")
    return found[-1]


def spatial_extension_path() -> Path:
    """The spatial extension file shipped inside the ``duckdb-extension-spatial`` package."""
    return extension_path(duckdb_extension_spatial, "spatial")


def _extension_directory() -> str:
    path = Path(os.environ.get("CM_ASSETS_DUCKDB_EXTENSIONS", Path(tempfile.gettempdir()) / "cm_assets_duckdb"))
    path.mkdir(parents=True, exist_ok=True)
    return str(path)


def load_spatial(con: duckdb.DuckDBPyConnection) -> None:
    """Load the spatial extension (ST_* functions, R-tree indexes) from its registry package."""
    con.load_extension(str(spatial_extension_path()))


def needs_spatial(error: Exception) -> bool:
    """Whether ``error`` is DuckDB refusing a function that the spatial extension provides."""
    return isinstance(error, duckdb.CatalogException) and "spatial extension" in str(error)


def connect(database: str | os.PathLike = ":memory:", read_only: bool = False,
            spatial: bool = True) -> duckdb.DuckDBPyConnection:
    """Open ``database``, with spatial loaded unless ``spatial=False`` (GEOMETRY is a core type;
    only ST_* functions and R-tree indexes need the extension); never downloads anything. Readers
    pass ``read_only=True``: the writer never holds the published file (see ``snapshot``), so a
    read-only open does not wait for a lock."""
    config = {"extension_directory": _extension_directory(), "autoinstall_known_extensions": "false",
              "autoload_known_extensions": "false", "allow_unsigned_extensions": "true"}
    try:
        con = duckdb.connect(str(database), read_only=read_only, config=config)
    except duckdb.IOException as error:
        # a reader that opened a file the moment it was retired from publication may find the
        # writer already updating it: the name now points at the newer file, open that
        if not (read_only and "Could not set lock" in str(error)):
            raise
        con = duckdb.connect(str(database), read_only=read_only, config=config)
    con.execute(f"SET home_directory = '{_extension_directory()}'")
    if spatial:
        load_spatial(con)
    return con
