"""The replica's atomic write helper (its asset and world caches)."""

import pytest

from cm_assets.replica.atomic import write_atomically

pytestmark = pytest.mark.fast


def test_success_publishes_and_failure_leaves_nothing(tmp_path):
    target = tmp_path / "cache" / "item.tif"
    write_atomically(target, lambda tmp: tmp.write_bytes(b"done"))
    assert target.read_bytes() == b"done"

    def fail(tmp):
        tmp.write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_atomically(target, fail)
    assert target.read_bytes() == b"done"
    assert [p.name for p in target.parent.iterdir()] == ["item.tif"]
