"""The shared warehouse: a DuckLake whose catalog is a PostgreSQL database and whose data files are
on object storage, so that readers on any host query it while one writer refreshes it.

The same tables, derived table and view as the local file (``ingest``, ``views``), under the same
names, in the DuckLake attached as ``lake`` and made the connection's default catalog. A refresh is
one DuckLake transaction, i.e. one snapshot: a reader's query sees the snapshot before it or the
one after, never a mix. Writers take a PostgreSQL advisory lock, so there is one at a time across
hosts.

This module is what readers need (targets, connections; light enough for ``cm-assets sql``); the
writer's side is :mod:`cm_assets.sql.lake_refresh`.

Secrets never appear in the target: the PostgreSQL password comes from libpq's own sources
(``PGPASSWORD`` or a password file), and the S3 keys from the ``AWS_*`` variables, turned into a
temporary DuckDB secret of the connection.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import duckdb

from cm_assets.sql.db import connect, extension_path, literal

PREFIX = "ducklake:"
ALIAS = "lake"
# the catalog's tables live in their own PostgreSQL schema, so the lake can share a database
# (e.g. the Dagster instance's) without mixing its tables with others
METADATA_SCHEMA = "cm_assets_lake"
# pg_advisory_lock key of the lake's writer (any constant; "cm_lake" in ASCII)
WRITER_LOCK_KEY = 0x636D5F6C616B65

_PASSWORD = re.compile(r"(^|\s)password\s*=", re.IGNORECASE)


class LakeConfigError(ValueError):
    """The shared warehouse's settings are unusable (the message never holds a secret)."""


@dataclass(frozen=True)
class Lake:
    """Where the shared warehouse lives: ``catalog`` is DuckLake's metadata location (``postgres:``
    + a libpq connection string without password), ``data_path`` the directory or ``s3://`` prefix
    of its Parquet files (needed only by the writer that creates the lake)."""

    catalog: str
    data_path: str | None = None

    @classmethod
    def parse(cls, target: str, data_path: str | None = None) -> Lake:
        """The lake of ``ducklake:<catalog>``; a password in the connection string is refused."""
        if not is_lake(target):
            raise LakeConfigError(f"not a DuckLake target (it starts with {PREFIX!r}): {target!r}")
        catalog = target[len(PREFIX):]
        if _PASSWORD.search(catalog) or urlsplit(catalog.removeprefix("postgres:")).password:
            raise LakeConfigError("the warehouse's connection string must not hold the PostgreSQL password: "
                                  "set PGPASSWORD (or use a libpq password file) instead")
        if not catalog:
            raise LakeConfigError(f"give the catalog after {PREFIX!r}, e.g. ducklake:postgres:host=... dbname=...")
        return cls(catalog, data_path or None)

    @property
    def target(self) -> str:
        """``ducklake:<catalog>`` (holds no secret: shown in logs and metadata)."""
        return PREFIX + self.catalog

    @property
    def on_postgres(self) -> bool:
        return self.catalog.startswith("postgres:")


def is_lake(target: str | os.PathLike) -> bool:
    """Whether a warehouse setting names a DuckLake rather than a DuckDB file."""
    return str(target).startswith(PREFIX)


def _load_extensions(con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    import duckdb_extension_ducklake
    import duckdb_extension_httpfs

    packages = [(duckdb_extension_ducklake, "ducklake"), (duckdb_extension_httpfs, "httpfs")]
    if lake.on_postgres:
        import duckdb_extension_postgres_scanner

        packages.append((duckdb_extension_postgres_scanner, "postgres_scanner"))
    for package, name in packages:
        con.load_extension(str(extension_path(package, name)))


def s3_secret_sql(env: Mapping[str, str]) -> str | None:
    """``CREATE TEMPORARY SECRET`` for the object store named by the ``AWS_*`` variables (keys,
    region, and ``AWS_ENDPOINT_URL`` for S3-compatible servers); None without keys."""
    key, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
    if not key or not secret:
        return None
    options = {"TYPE": "s3", "KEY_ID": literal(key), "SECRET": literal(secret),
               "REGION": literal(env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1")}
    if env.get("AWS_SESSION_TOKEN"):
        options["SESSION_TOKEN"] = literal(env["AWS_SESSION_TOKEN"])
    if env.get("AWS_ENDPOINT_URL"):
        endpoint = urlsplit(env["AWS_ENDPOINT_URL"])
        options |= {"ENDPOINT": literal(endpoint.netloc), "URL_STYLE": "'path'",
                    "USE_SSL": "true" if endpoint.scheme == "https" else "false"}
    return ("CREATE OR REPLACE TEMPORARY SECRET cm_assets_s3 ("
            + ", ".join(f"{name} {value}" for name, value in options.items()) + ")")


def _create_s3_secret(con: duckdb.DuckDBPyConnection, env: Mapping[str, str]) -> None:
    sql = s3_secret_sql(env)
    if sql is None:
        return
    try:
        con.execute(sql)
        return
    except duckdb.Error:
        pass
    # raised outside the handler: DuckDB's error echoes the statement, keys included, and must not
    # even be kept as this error's context (tracebacks and Dagster's error records show it)
    raise LakeConfigError("the AWS_* variables do not make a valid S3 secret (values not shown)")


def connect_lake(lake: Lake, read_only: bool = True, spatial: bool = True,
                 env: Mapping[str, str] | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the lake attached as ``lake`` and used by default
    (``read_only``: statements that write are refused); extensions from their registry packages."""
    con = connect(":memory:", spatial=spatial)
    try:
        _load_extensions(con, lake)
        _create_s3_secret(con, os.environ if env is None else env)
        options = [f"METADATA_SCHEMA {literal(METADATA_SCHEMA)}"] if lake.on_postgres else []
        if lake.data_path and not read_only:
            options.append(f"DATA_PATH {literal(lake.data_path)}")
        if read_only:
            options.append("READ_ONLY")
        clause = f" ({', '.join(options)})" if options else ""
        con.execute(f"ATTACH {literal(lake.target)} AS {ALIAS}{clause}")
        con.execute(f"USE {ALIAS}")
    except BaseException:
        con.close()
        raise
    return con
