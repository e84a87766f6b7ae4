"""DuckDB connections with the spatial extension loaded from its registry package (offline)."""

from __future__ import annotations

import hashlib
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


def literal(text: str) -> str:
    """``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


# Rows per row group of the warehouse file. DuckDB scans a table with one thread per row group;
# at its default (122,880) the whole 100k-plume catalog is one group, read by one core. With 16,384
# the heavy benchmark queries ran 7-43 % faster on 2 cores (graph_bench --compare-db; docs/pipeline.md,
# "Where a reader's time goes"), the file grew 13 %. It is an option
# of ATTACH, not stored in the file: a reader that opens the file another way reads the same rows,
# on one thread per 122,880 rows.
ROW_GROUP_SIZE = 16_384
_RESERVED_ALIASES = {"memory", "system", "temp"}


def _config() -> dict[str, str]:
    return {"extension_directory": _extension_directory(), "autoinstall_known_extensions": "false",
            "autoload_known_extensions": "false", "allow_unsigned_extensions": "true"}


def _quoted_alias(database: Path) -> str:
    """The catalog name of a file: its stem, as ``duckdb.connect`` names it."""
    alias = database.stem if database.stem not in _RESERVED_ALIASES else database.stem + "_db"
    return '"' + alias.replace('"', '""') + '"'


def _instance(database: str | os.PathLike, read_only: bool) -> duckdb.DuckDBPyConnection:
    """A new connection to the DuckDB instance that holds ``database``. Readers of one file in one
    process share a named in-memory instance (DuckDB keeps it while a connection to it is open),
    so the file is opened once, as ``duckdb.connect(file)`` would: DuckDB's shared lock is a POSIX
    record lock, which closing any other descriptor of the file in the process would release, and
    the writer relies on that lock to leave a file alone while someone reads it (``snapshot``).
    A writer, and ``:memory:``, get an instance of their own."""
    if not read_only or str(database) == ":memory:":
        return duckdb.connect(":memory:", config=_config())
    key = hashlib.sha256(str(Path(database).resolve()).encode()).hexdigest()[:24]
    return duckdb.connect(f":memory:cm_assets_{key}", config=_config())


def _attach_file(con: duckdb.DuckDBPyConnection, database: Path, read_only: bool) -> None:
    """Attach ``database`` (unless this instance already has it) with the warehouse's row-group
    size, and make it this connection's default catalog."""
    alias = _quoted_alias(database)
    options = ("READ_ONLY, " if read_only else "") + f"ROW_GROUP_SIZE {ROW_GROUP_SIZE}"
    statement = f"ATTACH IF NOT EXISTS {literal(str(database))} AS {alias} ({options})"
    try:
        con.execute(statement)
    except duckdb.IOException as error:
        # a reader that opened a file the moment it was retired from publication may find the
        # writer already updating it: the name now points at the newer file, open that
        if not (read_only and "Could not set lock" in str(error)):
            raise
        con.execute(statement)
    con.execute(f"USE {alias}")


def connect(database: str | os.PathLike = ":memory:", read_only: bool = False,
            spatial: bool = True) -> duckdb.DuckDBPyConnection:
    """Open ``database`` (a DuckDB file, attached with :data:`ROW_GROUP_SIZE`, or ``:memory:``),
    with spatial loaded unless ``spatial=False`` (GEOMETRY is a core type; only ST_* functions and
    R-tree indexes need the extension); never downloads anything. Readers pass ``read_only=True``:
    the writer never holds the published file (see ``snapshot``), so a read-only open does not
    wait for a lock. As with ``duckdb.connect``, a reader opened while another reader of the same
    file is open in this process reads the same snapshot as that one."""
    con = _instance(database, read_only)
    try:
        con.execute(f"SET home_directory = {literal(_extension_directory())}")
        if str(database) != ":memory:":
            _attach_file(con, Path(database), read_only)
        if spatial:
            load_spatial(con)
    except BaseException:
        con.close()
        raise
    return con
