"""``cm-assets dev``: the embedded replica plus ``dagster dev``, stopped together for sure."""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from cm_assets.processes import exit_on_termination, stop_group
from cm_assets.replica.process import ReplicaProcess

GRACE_SECONDS = 10.0
#: ``dagster dev`` warns on start that ``dg dev`` supersedes it; ``dg dev`` starts the same services
#: but needs the separate ``dg`` CLI and a ``[tool.dg]`` project, so the notice is silenced (in that
#: process only: the code server and runs it starts are not given the option).
SUPERSEDED_NOTICE = "ignore:Function `dev_command` is superseded"


def dagster_dev_command(workspace: Path, port: int) -> list[str]:
    """``dagster dev`` on ``workspace``, its UI on loopback ``port``."""
    return [sys.executable, "-W", SUPERSEDED_NOTICE, "-m", "dagster", "dev", "-w", str(workspace),
            "-h", "127.0.0.1", "-p", str(port)]


def register(commands: argparse._SubParsersAction) -> None:
    """Add the ``dev`` sub-command."""
    parser = commands.add_parser("dev", help="run the replica and the Dagster UI together")
    parser.add_argument("--scale", default="demo", help="replica world size (tiny|demo|full|N)")
    parser.add_argument("--ui-port", type=int, default=3000)
    parser.add_argument("--data-root", default="data")
    parser.set_defaults(func=run)


def dagster_home(root: Path) -> Path:
    """``$DAGSTER_HOME`` when set, else the project's ``.dagster_home`` (shared by ``demo`` and
    ``dev``, so the UI shows the demo's runs) seeded with the repository's dagster.yaml."""
    if os.environ.get("DAGSTER_HOME"):
        return Path(os.environ["DAGSTER_HOME"])
    home = root / ".dagster_home"
    home.mkdir(exist_ok=True)
    shutil.copyfile(root / "dagster.yaml", home / "dagster.yaml")
    return home


def port_in_use(port: int) -> bool:
    """Whether something listens on loopback ``port`` (bound as the webserver binds, so a socket of a
    server stopped a moment ago, in TIME_WAIT, does not count)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def run(args: argparse.Namespace) -> int:
    """Start the replica, then ``dagster dev`` against it; stop both on exit, Ctrl-C, SIGTERM or SIGHUP
    (``dagster dev`` leads its own session, so a signal to this process alone would orphan it)."""
    if port_in_use(args.ui_port):
        # dagster dev would run on without its UI, and the address printed would show another server
        print(f"cm-assets dev: port {args.ui_port} is in use (another `cm-assets dev` or Dagster UI?); "
              "stop it or choose another with --ui-port", file=sys.stderr)
        return 2
    exit_on_termination()
    root = Path.cwd()
    data_root = Path(args.data_root).resolve()
    with ReplicaProcess(data_root / "replica", scale=args.scale) as replica:
        env = {
            **os.environ,
            "DAGSTER_HOME": str(dagster_home(root)),
            "CARBONMAPPER_API_URL": replica.api_url,
            "CARBONMAPPER_EMAIL": replica.email,
            "CARBONMAPPER_PASSWORD": replica.password,
            "CM_ASSETS_DATA_ROOT": str(data_root),
        }
        print(f"replica: {replica.api_url} (admin {replica.admin_url})", flush=True)
        print(f"Dagster UI: http://127.0.0.1:{args.ui_port} (instance settings: "
              f"{Path(env['DAGSTER_HOME']) / 'dagster.yaml'})", flush=True)
        dagster = subprocess.Popen(dagster_dev_command(root / "workspace.yaml", args.ui_port),
                                   env=env, start_new_session=True)
        try:
            return dagster.wait()
        except KeyboardInterrupt:
            return 0
        finally:
            stop_group(dagster, GRACE_SECONDS)
