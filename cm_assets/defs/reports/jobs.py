"""``plume_report`` and ``source_report``: one op each, configured with the plume id or source name;
the figures are written under the data root (or ``out_dir``) and shown in the op's output metadata."""

from pathlib import Path

from dagster import Config, MetadataValue, OpExecutionContext, Output, job, op
from pydantic import Field

from cm_assets.defs.metadata import embedded_png
from cm_assets.defs.resources import CarbonMapperResource, StorageResource
from cm_assets.reports import plots
from cm_assets.reports.files import Report
from cm_assets.reports.plume import DEFAULT_CONTEXT_SCALE, DEFAULT_PAD_PX, plume_report
from cm_assets.reports.source import source_report
from cm_assets.reports.source_profile import profile_markdown
from cm_assets.storage import layout

#: Width of the copies embedded in the UI (the files on disk are full size).
EMBED_WIDTH_PX = 960


class PlumeReportConfig(Config):
    plume_id: str = Field(description="Colloquial plume id (e.g. tan20260405t172750c72s4001-A) or UUID.")
    out_dir: str | None = Field(default=None, description="Output directory; default <data root>/reports/plumes/<id>.")
    pad_px: int = Field(default=DEFAULT_PAD_PX, description="Context pixels of the L2B crops.")
    context_scale: float = Field(default=DEFAULT_CONTEXT_SCALE,
                                 description="L2B context window, in multiples of the outline's bounds.")


class SourceReportConfig(Config):
    source_name: str = Field(description="Source name, e.g. CH4_1B2_500m_-103.93835_32.06406.")
    out_dir: str | None = Field(default=None, description="Output directory; default <data root>/reports/sources/<name>.")


def _out_dir(storage: StorageResource, configured: str | None, kind: str, name: str) -> Path:
    if configured:
        return Path(configured)
    store = storage.storage()
    if not store.is_local:
        raise ValueError("the data root is remote: set out_dir to a local directory")
    return Path(store.uri(layout.report_dir(kind, name)))


def report_metadata(report: Report, extra: dict | None = None) -> dict:
    """Paths of every file and each figure embedded as markdown (a reduced copy)."""
    metadata: dict = {"out_dir": MetadataValue.path(str(report.out_dir))}
    for name, path in {**report.figures, **report.files}.items():
        metadata[f"{name}_path"] = MetadataValue.path(str(path))
    for name, path in report.figures.items():
        metadata[name] = embedded_png(plots.thumbnail(path.read_bytes(), EMBED_WIDTH_PX), f"{report.subject}: {name}")
    metadata["inputs"] = MetadataValue.json(report.sources)
    if report.notes:
        metadata["notes"] = MetadataValue.md("\n".join(f"- {n}" for n in report.notes))
    metadata.update(extra or {})
    return metadata


@op(description="Four-panel, L2B context and L3A-vs-L2B figures of one plume, full size.")
def plume_figures(context: OpExecutionContext, config: PlumeReportConfig, carbonmapper: CarbonMapperResource,
                  storage: StorageResource) -> Output[str]:
    out = _out_dir(storage, config.out_dir, "plumes", config.plume_id)
    warehouse = Path(storage.duckdb_path()) if storage.storage().is_local or storage.warehouse_path else None
    with carbonmapper.get_client() as client:
        report = plume_report(client, config.plume_id, out, warehouse=warehouse, pad_px=config.pad_px,
                              context_scale=config.context_scale)
    context.log.info(report.summary())
    return Output(str(report.out_dir), metadata=report_metadata(report))


@op(description="Profile table (recomputed next to Carbon Mapper's) and emission timeline of one source.")
def source_figures(context: OpExecutionContext, config: SourceReportConfig, carbonmapper: CarbonMapperResource,
                   storage: StorageResource) -> Output[str]:
    out = _out_dir(storage, config.out_dir, "sources", config.source_name)
    with carbonmapper.get_client() as client:
        report, row = source_report(client, config.source_name, out)
    context.log.info(report.summary())
    return Output(str(report.out_dir), metadata=report_metadata(report, {"profile": MetadataValue.md(profile_markdown(row))}))


@job(name="plume_report", description="On demand: the figures of one plume (config: plume_id), written under the data root.")
def plume_report_job():
    plume_figures()


@job(name="source_report", description="On demand: one source's profile and emission timeline (config: source_name).")
def source_report_job():
    source_figures()
