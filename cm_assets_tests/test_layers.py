"""The one-way layers of docs/architecture.md, read from every module's imports (``ast``, so imports
inside functions and under ``TYPE_CHECKING`` count too).

Layers, bottom to top; a layer imports only the layers listed as allowed for it:

* neutral: ``cm_assets`` (the package), ``cm_assets.processes``
* physics: ``cm_assets.ime`` (the pipeline's IME quantification)
* replica: ``cm_assets.replica`` — itself and neutral: it knows the API, not our client nor the
  pipeline's physics (it keeps its own frozen copy, ``cm_assets.replica.physics``)
* client: ``cm_assets.carbonmapper`` — itself and neutral
* library: ``cm_assets.storage``, ``cm_assets.sql``, ``cm_assets.reports``, ``cm_assets.exports``
  — client, physics, neutral; their command-line modules (``*.cli``) may also start a replica
  (``cm_assets.replica.process``)
* defs: ``cm_assets.defs``, ``cm_assets.definitions`` — library, client, physics, neutral
* apps: ``cm_assets.cli``, ``cm_assets.demo``, ``cm_assets.dev`` — anything

Only defs and apps import Dagster. Inside defs, a domain (``defs/<domain>/``) imports no sibling
domain: what two domains share lives in a top-level ``cm_assets.defs`` module, which imports no
domain.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.fast

PACKAGE = Path(__file__).resolve().parent.parent / "cm_assets"

LAYERS: dict[str, tuple[str, ...]] = {
    "apps": ("cm_assets.cli", "cm_assets.demo", "cm_assets.dev"),
    "defs": ("cm_assets.defs", "cm_assets.definitions"),
    "library": ("cm_assets.storage", "cm_assets.sql", "cm_assets.reports", "cm_assets.exports"),
    "client": ("cm_assets.carbonmapper",),
    "replica": ("cm_assets.replica",),
    "physics": ("cm_assets.ime",),
    "neutral": ("cm_assets.processes", "cm_assets"),
}
ALLOWED: dict[str, set[str]] = {
    "neutral": {"neutral"},
    "physics": {"physics", "neutral"},
    "replica": {"replica", "neutral"},
    "client": {"client", "neutral"},
    "library": {"library", "client", "physics", "neutral"},
    "defs": {"defs", "library", "client", "physics", "neutral"},
    "apps": set(LAYERS),
}
DAGSTER_LAYERS = {"defs", "apps"}
LIBRARY_CLI_EXTRA = ("cm_assets.replica.process",)


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def layer(module: str) -> str | None:
    """The layer of a cm_assets module (longest matching prefix), None outside cm_assets."""
    best: tuple[int, str | None] = (0, None)
    for name, prefixes in LAYERS.items():
        for prefix in prefixes:
            if _within(module, prefix) and len(prefix) > best[0]:
                best = (len(prefix), name)
    return best[1]


def imported_modules(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in ``source``, at any depth; ``from a import b``
    gives ``a.b`` (``b`` may be a submodule)."""
    found = []
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def _defs_domain(module: str, domains: set[str]) -> str | None:
    parts = module.split(".")
    if len(parts) >= 3 and parts[:2] == ["cm_assets", "defs"] and parts[2] in domains:
        return parts[2]
    return None


def violations(source: str, module: str, domains: set[str], is_package: bool = False) -> list[str]:
    """Every import of ``module`` (whose text is ``source``) that breaks a rule above."""
    own = layer(module)
    out = []
    for line, target in imported_modules(source, module, is_package):
        where = f"{module}:{line} imports {target}"
        if target.split(".")[0] in ("dagster",) or target.startswith("dagster_"):
            if own not in DAGSTER_LAYERS:
                out.append(f"{where}: only defs and apps use Dagster")
            continue
        theirs = layer(target)
        if theirs is None or own is None:
            continue
        cli_extra = own == "library" and module.endswith(".cli") and any(
            _within(target, extra) for extra in LIBRARY_CLI_EXTRA)
        if theirs not in ALLOWED[own] and not cli_extra:
            out.append(f"{where}: the {own} layer does not import the {theirs} layer")
        if own == "defs" and theirs == "defs":
            mine, other = _defs_domain(module, domains), _defs_domain(target, domains)
            if other is not None and other != mine:
                side = f"domain {mine}" if mine else "a shared defs module"
                out.append(f"{where}: {side} imports the sibling domain {other}")
    return out


def _modules() -> list[tuple[str, Path, bool]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        is_package = rel.name == "__init__"
        parts = rel.parts[:-1] if is_package else rel.parts
        out.append((".".join(parts), path, is_package))
    return out


def defs_domains() -> set[str]:
    return {p.name for p in (PACKAGE / "defs").iterdir() if (p / "__init__.py").exists()}


def test_every_module_respects_the_layers():
    domains = defs_domains()
    found = [v for module, path, is_package in _modules()
             for v in violations(path.read_text(), module, domains, is_package)]
    assert not found, "imports against the layers:\n" + "\n".join(found)


def test_every_module_has_a_layer():
    unassigned = [module for module, _path, _pkg in _modules() if layer(module) in (None, "neutral")
                  and module not in LAYERS["neutral"]]
    assert not unassigned, f"modules outside every layer (add them to LAYERS): {unassigned}"


DOMAINS = {"catalog", "products", "scenes", "api_watch"}


@pytest.mark.parametrize(("module", "source", "broken"), [
    ("cm_assets.replica.world", "from cm_assets.carbonmapper import models", "replica layer"),
    ("cm_assets.replica.field_solver", "from cm_assets.ime import effective_wind", "replica layer"),
    ("cm_assets.replica.field_solver", "def f():\n    from cm_assets.defs import storage\n", "replica layer"),
    ("cm_assets.carbonmapper.client", "import dagster", "Dagster"),
    ("cm_assets.carbonmapper.client", "from ..defs.storage import Storage", "client layer"),
    ("cm_assets.sql.views", "from cm_assets.defs.resources import StorageResource", "library layer"),
    ("cm_assets.sql.schema", "def f():\n    from dagster import TableSchema\n", "Dagster"),
    ("cm_assets.sql.cli", "def f():\n    from cm_assets.demo import run\n", "library layer"),
    ("cm_assets.reports.plots", "from cm_assets.replica.process import ReplicaProcess", "library layer"),
    ("cm_assets.defs.metadata", "from cm_assets import demo", "defs layer"),
    ("cm_assets.defs.scenes.assets", "from cm_assets.defs.products.assets import build_days", "sibling"),
    ("cm_assets.defs.scenes.assets", "from cm_assets.defs.api_watch import give_up", "sibling"),
    ("cm_assets.defs.products.assets", "from ..catalog.assets import catalog_path", "sibling"),
    ("cm_assets.defs.checks", "from cm_assets.defs.catalog import build", "shared defs module"),
])
def test_checker_finds_a_violation(module, source, broken):
    found = violations(source, module, DOMAINS)
    assert len(found) == 1 and broken in found[0], found


@pytest.mark.parametrize(("module", "source"), [
    ("cm_assets.replica.field_solver", "from cm_assets.processes import stop_group"),
    ("cm_assets.reports.cli", "from cm_assets.replica.process import ReplicaProcess"),
    ("cm_assets.defs.scenes.assets", "from cm_assets.defs.scenes.stats import crop_stats"),
    ("cm_assets.defs.scenes.assets", "from . import stats\nfrom ..storage_shared import x"),
    ("cm_assets.defs.catalog.assets", "from cm_assets.sql.schema import conform"),
    ("cm_assets.demo", "from cm_assets.definitions import build_definitions\nimport dagster"),
])
def test_checker_accepts_what_the_layers_allow(module, source):
    assert violations(source, module, DOMAINS) == []


def test_the_command_line_starts_without_dagster():
    """``cm-assets sql``/``export``/``plume`` load no Dagster: only ``demo`` imports it, when it runs."""
    code = "import sys, cm_assets.cli; print('dagster' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


ENVIRONMENT_READERS = {
    "cm_assets.defs.resources": "binds resource fields to variables (EnvVar) and reads credentials by name",
    "cm_assets.defs.api_watch.settings": "sensor intervals, fixed when the definitions load",
    "cm_assets.defs.execution": "the executor, chosen when the definitions load",
}
"""The only Dagster modules that read the environment; every other setting reaches code as a resource
or as config."""


def reads_environment(source: str) -> list[int]:
    """Lines of ``source`` that touch ``os.environ`` / ``os.getenv`` (or import them from ``os``)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv") \
                and isinstance(node.value, ast.Name) and node.value.id == "os":
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os" \
                and any(alias.name in ("environ", "getenv") for alias in node.names):
            lines.append(node.lineno)
    return lines


def test_defs_read_the_environment_only_where_settings_are_bound():
    found = [f"{module}:{line}" for module, path, _pkg in _modules() if layer(module) == "defs"
             and module not in ENVIRONMENT_READERS for line in reads_environment(path.read_text())]
    assert not found, "environment read outside the settings modules (pass a resource or config):\n" \
        + "\n".join(found)


def test_environment_check_finds_a_read():
    assert reads_environment("import os\ndef f():\n    return os.environ.get('X')\n") == [3]
    assert reads_environment("from os import getenv\n") == [1]
    assert reads_environment("from dagster import EnvVar\nEnvVar('X')\n") == []
