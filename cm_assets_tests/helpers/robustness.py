"""Helpers of the robustness tests: days to corrupt, the replica's corruption switch, raw answers."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, timedelta, timezone

import pandas as pd
import requests

from cm_assets.carbonmapper import CarbonMapperClient
from cm_assets.defs.partitions import day_window
from cm_assets_tests.helpers.replica import REPLICA_END


def busiest_days(replica, width: int, low: int = 45, high: int = 200) -> list[str]:
    """The ``width`` consecutive days with the most plumes between ``high`` and ``low`` days
    before the replica's end (old enough for most L2B scenes)."""
    end = date.fromisoformat(REPLICA_END)
    start = end - timedelta(days=high)
    window = (datetime.combine(start, datetime.min.time(), tzinfo=timezone.utc),
              datetime.combine(end - timedelta(days=low), datetime.min.time(), tzinfo=timezone.utc))
    with CarbonMapperClient(replica.api_url, email=replica.email, password=replica.password) as client:
        per_day = Counter(p["scene_timestamp"][:10] for gas in ("CH4", "CO2")
                          for p in client.iter_plume_payloads(gas=gas, observed=window))
    candidates = [[(start + timedelta(days=k + i)).isoformat() for i in range(width)]
                  for k in range(high - low - width)]
    return max(candidates, key=lambda days: sum(per_day[d] for d in days))


def raw_items(replica, days: list[str]) -> list:
    """Every item ``catalog/plumes/annotated`` returns for ``days`` (both gases), as served."""
    window = (day_window(days[0])[0], day_window(days[-1])[1])
    with CarbonMapperClient(replica.api_url, email=replica.email, password=replica.password) as client:
        return [p for gas in ("CH4", "CO2") for p in client.iter_plume_payloads(gas=gas, observed=window)]


def corrupt(replica, **body) -> None:
    """Schedule one corruption (``POST /_replica/corrupt``); NaN/Infinity are sent as JSON literals."""
    requests.post(f"{replica.admin_url}/corrupt", data=json.dumps(body),
                  headers={"Content-Type": "application/json"}, timeout=30).raise_for_status()


def clear_corruptions(replica) -> None:
    requests.delete(f"{replica.admin_url}/corrupt", timeout=30).raise_for_status()


def by_id(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("plume_id").sort_index()
