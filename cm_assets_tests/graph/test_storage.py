"""Atomic writes: a failed write leaves neither a partial file nor a temporary one."""

from __future__ import annotations

import pandas as pd
import pytest

from cm_assets.defs.storage import Storage


class Boom(Exception):
    pass


@pytest.mark.parametrize("root", ["local", "memory://cm-assets-test"])
def test_failed_write_publishes_nothing_and_keeps_the_old_file(tmp_path, root):
    store = Storage(str(tmp_path) if root == "local" else root)
    store.write_parquet(pd.DataFrame({"a": [1, 2]}), "t/day=2026-01-01.parquet")
    with pytest.raises(Boom):
        with store.atomic("t/day=2026-01-01.parquet") as tmp:
            with store.fs.open(tmp, "wb") as fh:
                fh.write(b"half a parquet file")
            raise Boom
    assert store.glob("t/*") == ["t/day=2026-01-01.parquet"]
    assert store.fs.glob(store._full("t/.*")) == []
    assert list(store.read_parquet("t/day=2026-01-01.parquet")["a"]) == [1, 2]
    store.write_parquet(pd.DataFrame({"a": [3]}), "t/day=2026-01-01.parquet")
    assert list(store.read_parquet("t/day=2026-01-01.parquet")["a"]) == [3]
