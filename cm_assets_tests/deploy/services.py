"""Real servers of the deployment profile, each on a free loopback port in its own process group:
PostgreSQL (a temporary cluster), Redis and an S3-compatible server (moto).

Each is a context manager; leaving it stops the process group for sure (SIGTERM, then SIGKILL)
and removes its temporary directory.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import requests

from cm_assets.processes import stop_group
from cm_assets_tests.e2e.stack import free_port, wait_for

PG_USER = "dagster"
PG_PASSWORD = "deploy-test-secret"
PG_DB = "dagster"
BUCKET = "cm-assets-test"  # the bucket the ``s3`` fixture creates on the moto server


def _is_root() -> bool:
    return os.geteuid() == 0


def postgres_bindir() -> Path | None:
    """Directory of Debian's PostgreSQL server binaries (initdb, postgres), if installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if found:
        return Path(found[-1]).parent
    postgres = shutil.which("postgres")
    return Path(postgres).parent if postgres and shutil.which("initdb") else None


def require_binary(what: str, available: bool) -> None:
    """Skip (with the reason) when a server binary is missing; ``make test`` installs it as root."""
    if not available:
        pytest.skip(f"{what} is not installed (as root, `make test` installs it with apt-get)")


class _Server:
    """A server process in its own session, stopped with its whole group."""

    name = "server"

    def __init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix=f"cm-{self.name}-"))
        self.port = free_port()
        self.log_path = self.workdir / f"{self.name}.log"
        self._proc: subprocess.Popen | None = None

    def _spawn(self, args: list[str], env: dict[str, str] | None = None) -> None:
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, start_new_session=True,
                                          env=env, cwd=self.workdir)

    def _alive(self) -> None:
        if self._proc is not None and self._proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self._proc.returncode}:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def start(self):
        raise NotImplementedError

    def stop(self) -> None:
        try:
            if self._proc is not None:
                stop_group(self._proc, grace=10.0)
                self._proc = None
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


class PostgresServer(_Server):
    """A throw-away PostgreSQL cluster (``initdb`` + ``postgres``) with a password-protected role.

    As root the cluster belongs to Debian's ``postgres`` system user (initdb refuses root)."""

    name = "postgres"

    def __init__(self) -> None:
        super().__init__()
        self.bindir = postgres_bindir()
        self.data = self.workdir / "cluster"

    def _as_owner(self, args: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if _is_root() else args

    def env(self) -> dict[str, str]:
        """The DAGSTER_PG_* variables that ``deploy/dagster.yaml`` reads."""
        return {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": str(self.port),
                "DAGSTER_PG_USER": PG_USER, "DAGSTER_PG_PASSWORD": PG_PASSWORD,
                "DAGSTER_PG_DB": PG_DB}

    def start(self) -> PostgresServer:
        assert self.bindir is not None, "postgres binaries missing"
        if _is_root():
            shutil.chown(self.workdir, "postgres", "postgres")
        pwfile = self.workdir / "pw"
        pwfile.write_text(PG_PASSWORD)
        if _is_root():
            shutil.chown(pwfile, "postgres", "postgres")
        subprocess.run(self._as_owner([str(self.bindir / "initdb"), "-D", str(self.data),
                                       "-U", PG_USER, f"--pwfile={pwfile}", "-A", "scram-sha-256",
                                       "-E", "UTF8", "--no-sync"]),
                       check=True, capture_output=True, cwd=self.workdir)
        pwfile.unlink()
        self._spawn(self._as_owner([str(self.bindir / "postgres"), "-D", str(self.data),
                                    "-p", str(self.port), "-c", "listen_addresses=127.0.0.1",
                                    "-c", f"unix_socket_directories={self.workdir}",
                                    "-c", "fsync=off", "-c", "max_connections=200"]))
        wait_for(self._ready, 60, "PostgreSQL to accept connections", interval=0.3)
        return self

    def _ready(self) -> bool:
        import psycopg2

        self._alive()
        try:
            psycopg2.connect(host="127.0.0.1", port=self.port, user=PG_USER, password=PG_PASSWORD,
                             dbname="postgres", connect_timeout=2).close()
        except psycopg2.OperationalError:
            return False
        self._create_database()
        return True

    def _create_database(self) -> None:
        import psycopg2

        con = psycopg2.connect(host="127.0.0.1", port=self.port, user=PG_USER, password=PG_PASSWORD,
                               dbname="postgres")
        con.autocommit = True
        try:
            with con.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DB,))
                if cur.fetchone() is None:
                    cur.execute(f"CREATE DATABASE {PG_DB}")
        finally:
            con.close()


class RedisServer(_Server):
    """``redis-server`` without persistence."""

    name = "redis"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self._spawn([shutil.which("redis-server") or "redis-server", "--port", str(self.port),
                     "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                     "--dir", str(self.workdir)])
        wait_for(self._ready, 30, "Redis to answer", interval=0.2)
        return self

    def _ready(self) -> bool:
        import redis

        self._alive()
        try:
            return bool(redis.Redis(port=self.port, socket_timeout=2).ping())
        except redis.ConnectionError:
            return False


class MotoS3Server(_Server):
    """moto's standalone server, which speaks the S3 HTTP API (no S3 server is packaged here)."""

    name = "moto"
    access_key = "deploy-test-key"
    secret_key = "deploy-test-secret-key"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """Variables that botocore (s3fs) and GDAL read to reach this server."""
        return {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key,
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_S3_ENDPOINT": f"127.0.0.1:{self.port}", "AWS_HTTPS": "NO",
                "AWS_VIRTUAL_HOSTING": "FALSE"}

    def start(self) -> MotoS3Server:
        self._spawn([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)])
        wait_for(self._ready, 60, "moto to answer", interval=0.3)
        return self

    def _ready(self) -> bool:
        self._alive()
        try:
            return requests.get(f"{self.endpoint}/moto-api/", timeout=2).status_code < 500
        except requests.RequestException:
            return False
