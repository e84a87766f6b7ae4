"""The shared warehouse: the graph refreshes a DuckLake whose catalog is in PostgreSQL and whose data
files are on an S3-compatible server (moto's), while a reader in another process queries it on its
own connection."""

from __future__ import annotations

import multiprocessing
import time

import psycopg2
import pytest
from dagster import DagsterInstance

from cm_assets.cli import main as cli_main
from cm_assets.definitions import build_definitions
from cm_assets.defs.partitions import range_tags
from cm_assets.storage.store import Storage
from cm_assets.sql.lake import METADATA_SCHEMA, Lake, connect_lake
from cm_assets.sql.lake_refresh import refresh_lake, writer_lock
from cm_assets.sql.refresh import refresh_warehouse
from cm_assets.sql.snapshot import WarehouseBusy
from cm_assets.sql.query import run_query
from cm_assets.sql.views import RELATIONS
from cm_assets_tests.deploy.services import BUCKET, PG_DB, PG_PASSWORD, PG_USER
from cm_assets_tests.helpers.graph import pick_days
from cm_assets_tests.helpers.warehouse_reader import lake_read_loop
from cm_assets_tests.helpers.samples import write_day

pytestmark = pytest.mark.deploy

DATA_PATH = f"s3://{BUCKET}/lake/"


@pytest.fixture
def lake_env(postgres, s3, replica, tmp_path, monkeypatch) -> dict[str, str]:
    """The graph's environment with the shared warehouse: catalog in PostgreSQL (password from
    PGPASSWORD), data files on S3 (keys from the AWS_* variables the ``s3`` fixture set)."""
    env = {"CM_ASSETS_WAREHOUSE": f"ducklake:postgres:host=127.0.0.1 port={postgres.port} "
                                  f"dbname={PG_DB} user={PG_USER}",
           "CM_ASSETS_WAREHOUSE_DATA_PATH": DATA_PATH, "PGPASSWORD": PG_PASSWORD,
           "CM_ASSETS_DATA_ROOT": str(tmp_path / "data"), "CARBONMAPPER_API_URL": replica.api_url,
           "CARBONMAPPER_EMAIL": replica.email, "CARBONMAPPER_PASSWORD": replica.password}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CARBONMAPPER_TOKEN", raising=False)
    return env


def _warehouse_metadata(result) -> dict:
    """The metadata of the run's ``warehouse`` materialization."""
    [event] = [e for e in result.get_asset_materialization_events()
               if e.asset_key.to_user_string() == "warehouse"]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def _state(metadata: dict) -> tuple[int, int]:
    return metadata["rows_plumes"], metadata["rows_plumes_enriched"]


def _snapshots(lake: Lake) -> int:
    con = connect_lake(lake, read_only=True, spatial=False)
    try:
        return con.execute("SELECT count(*) FROM lake.snapshots()").fetchone()[0]
    finally:
        con.close()


def _catalog_text(postgres) -> list[str]:
    """Every row of every table of the lake's catalog schema, as text."""
    con = psycopg2.connect(host="127.0.0.1", port=postgres.port, user=PG_USER, password=PG_PASSWORD,
                           dbname=PG_DB)
    try:
        with con.cursor() as cur:
            cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                        (METADATA_SCHEMA,))
            tables = [name for (name,) in cur.fetchall()]
            assert tables, "no catalog tables"
            rows = []
            for table in tables:
                cur.execute(f'SELECT t::text FROM "{METADATA_SCHEMA}"."{table}" t')
                rows += [text for (text,) in cur.fetchall()]
            return rows
    finally:
        con.close()


def _rows(database: str, relation: str) -> list[tuple]:
    columns, rows = run_query(database, f"SELECT * FROM {relation}")
    keep = [i for i, name in enumerate(columns) if name not in ("checked_at", "quarantined_at")]
    return sorted((tuple(row[i] for i in keep) for row in rows), key=repr)


def _wait_for_reads(reads, count: int, reader, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while reads.value < count and reader.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert reads.value >= count, f"the reader made {reads.value} reads, not {count}"


@pytest.mark.timeout(900)
def test_runs_refresh_the_shared_warehouse_while_a_reader_queries(lake_env, postgres, s3, replica, tmp_path,
                                                                  capsys):
    first, second = pick_days(replica, count=2)
    lake = Lake.parse(lake_env["CM_ASSETS_WAREHOUSE"])
    defs = build_definitions()
    instance = DagsterInstance.ephemeral()

    def run(job: str, tags: dict[str, str]) -> dict:
        result = defs.resolve_job_def(job).execute_in_process(tags=tags, instance=instance,
                                                              raise_on_error=False)
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        logged = "\n".join(str(e) for e in instance.all_logs(result.run_id))
        logged += repr(instance.get_run_by_id(result.run_id).run_config)
        for secret in (PG_PASSWORD, s3.secret_key):
            assert secret not in logged
        return _warehouse_metadata(result)

    created = run("refresh_all", range_tags(first, first))  # the whole graph for one day creates the lake
    assert created["rebuilt"] and created["path"] == lake.target
    committed = {_state(created)}

    spawn = multiprocessing.get_context("spawn")
    stop, reads, out = spawn.Event(), spawn.Value("i", 0), spawn.Queue()
    reader = spawn.Process(target=lake_read_loop, args=(lake.target, stop, reads, out))
    reader.start()
    try:
        _wait_for_reads(reads, 1, reader)
        # a new day, then a one-day change, each while the reader queries
        added = run("refresh_days", {"dagster/partition": second})
        committed.add(_state(added))
        before = _snapshots(lake)
        changed = run("refresh_days", {"dagster/partition": first})
        committed.add(_state(changed))
        during = reads.value
        _wait_for_reads(reads, during + 2, reader)  # the last read began after the last commit
        stop.set()
        seen, errors = out.get(timeout=120)
    finally:
        stop.set()
        reader.join(timeout=60)
        if reader.is_alive():
            reader.kill()
    assert errors == []
    assert during >= 3 and set(seen) <= committed, (set(seen), committed)
    assert len(set(seen)) >= 2, "the reader never saw a refresh land"
    assert seen[-1] == _state(changed)

    # the one-day change re-read that day's files only, in one DuckLake transaction (one snapshot)
    assert not changed["rebuilt"] and changed["changed_files"]["plumes"] == {"files_ingested": 1,
                                                                             "files_dropped": 1}
    assert _snapshots(lake) == before + 1
    assert Storage(DATA_PATH).glob("**/*.parquet"), "no data file on S3"

    # no secret in the catalog either (it stores the data path and the files, not the keys)
    assert not [row for row in _catalog_text(postgres) if PG_PASSWORD in row or s3.secret_key in row]

    # the same rows as the local warehouse refreshed from the same files
    local = tmp_path / "cm.duckdb"
    refresh_warehouse(local, Storage(lake_env["CM_ASSETS_DATA_ROOT"]))
    assert _rows(lake.target, "plumes")
    for relation in RELATIONS:
        assert _rows(lake.target, relation) == _rows(str(local), relation), relation

    # `cm-assets sql` attaches it read-only
    assert cli_main(["sql", "--db", lake.target, "SELECT count(*) AS n FROM plumes_enriched"]) == 0
    assert str(_state(changed)[1]) in [line.strip() for line in capsys.readouterr().out.splitlines()]
    assert cli_main(["sql", "--db", lake.target, "DELETE FROM plumes"]) == 1
    assert "read-only" in capsys.readouterr().err


def test_a_data_root_on_s3_is_read_and_compaction_keeps_the_rows(postgres, s3, monkeypatch):
    """The multi-host case of the data root on object storage too (DuckDB's httpfs reads it with
    the lake's secret), the maintenance step the docs give (``CHECKPOINT lake``), and the writer
    lock (a second writer waits, then gives up)."""
    con = psycopg2.connect(host="127.0.0.1", port=postgres.port, user=PG_USER, password=PG_PASSWORD,
                           dbname="postgres")
    con.autocommit = True
    with con.cursor() as cur:
        cur.execute("CREATE DATABASE lake_on_s3")
    con.close()
    monkeypatch.setenv("PGPASSWORD", PG_PASSWORD)
    lake = Lake.parse(f"ducklake:postgres:host=127.0.0.1 port={postgres.port} dbname=lake_on_s3 "
                      f"user={PG_USER}", f"s3://{BUCKET}/lake-on-s3/")
    store = Storage(f"s3://{BUCKET}/data-on-s3")
    write_day(store, "2026-10-01", 2)
    write_day(store, "2026-10-02", 1)
    assert refresh_lake(lake, store).counts["plumes"] == 3
    for plumes in (2, 3, 4):  # one day re-materialized three times: small files pile up
        write_day(store, "2026-10-02", plumes)
        done = refresh_lake(lake, store)
        assert (done.changes["plumes"].ingested, done.counts["plumes"]) == (1, 2 + plumes)

    writer = connect_lake(lake, read_only=False, spatial=False)
    try:
        files = lambda: writer.execute("SELECT count(*) FROM ducklake_list_files('lake', 'plumes')").fetchone()[0]  # noqa: E731
        before = files()
        writer.execute("CHECKPOINT lake")
        assert files() < before
    finally:
        writer.close()
    assert dict(run_query(lake.target, "SELECT observation_day, count(*) FROM plumes GROUP BY 1")[1]) == \
        {"2026-10-01": 2, "2026-10-02": 4}

    with writer_lock(lake):  # another host's writer holds the lake
        with pytest.raises(WarehouseBusy), writer_lock(lake, timeout_s=0.5):
            pass
    with writer_lock(lake, timeout_s=0.5):  # released with its session
        pass
