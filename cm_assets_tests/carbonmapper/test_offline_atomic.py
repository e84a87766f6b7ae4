"""The client's atomic write helper, used by its downloads and COGs, the data-root storage and the reports."""

import pytest

from cm_assets.carbonmapper.atomic import atomic_path, write_atomic

pytestmark = pytest.mark.fast


def test_write_publishes_the_whole_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "a" / "b.bin"
    write_atomic(target, b"old")
    write_atomic(target, "new text")
    assert target.read_text() == "new text"
    assert sorted(p.name for p in target.parent.iterdir()) == ["b.bin"]


def test_a_failed_write_keeps_the_previous_file_and_removes_its_temporary(tmp_path):
    target = tmp_path / "b.bin"
    write_atomic(target, b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        assert tmp.name.startswith(".b.bin.") and tmp.name.endswith(".tmp")
        raise RuntimeError("killed")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["b.bin"]
