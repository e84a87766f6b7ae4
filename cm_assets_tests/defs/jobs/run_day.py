"""Materialize one day's catalog and the warehouse in this process (used to run partitions in
parallel processes): ``python -m cm_assets_tests.defs.jobs.run_day DAY`` with the CARBONMAPPER_* and
CM_ASSETS_DATA_ROOT variables set."""

from __future__ import annotations

import sys

from dagster import AssetKey, DagsterInstance

from cm_assets.definitions import build_definitions


def main(day: str) -> int:
    job = build_definitions().resolve_job_def("refresh_days")
    result = job.execute_in_process(partition_key=day, instance=DagsterInstance.ephemeral(),
                                    asset_selection=[AssetKey("plume_catalog"), AssetKey("warehouse")],
                                    raise_on_error=False)
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
