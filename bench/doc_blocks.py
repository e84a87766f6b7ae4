"""The figures block a benchmark owns in a Markdown file: the text between ``<!-- NAME:start -->`` and
``<!-- NAME:end -->``. The benchmark that prints the figures rewrites the block, in its doc and, where
the README shows the same figures, in the README too, so that no copy keeps older figures."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def write_block(name: str, text: str, *docs: Path) -> None:
    """Replace block ``name`` by ``text`` in each of ``docs``; a doc without the block is an error."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    for doc in docs:
        body = doc.read_text()
        if not pattern.search(body):
            raise SystemExit(f"{doc}: no block {start} ... {end}")
        doc.write_text(pattern.sub(lambda _: f"{start}\n{text}\n{end}", body))
