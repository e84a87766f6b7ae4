"""Writing report files: atomically (temporary name, then rename), listed in a ``Report``."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path


def write_atomic(path: Path, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` through a hidden temporary file, so no partial file is visible."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


@dataclass
class Report:
    """What a report wrote (name -> path, figures are PNGs), how it got its inputs, and notes."""

    subject: str
    out_dir: Path
    files: dict[str, Path] = field(default_factory=dict)
    figures: dict[str, Path] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, filename: str, data: bytes | str, figure: bool = False) -> Path:
        path = write_atomic(self.out_dir / filename, data)
        (self.figures if figure else self.files)[name] = path
        return path

    def summary(self) -> str:
        """Plain-text listing for the command line."""
        lines = [f"{self.subject} -> {self.out_dir}"]
        lines += [f"  {name:<12} {path}" for name, path in {**self.figures, **self.files}.items()]
        lines += [f"  ({what}: {how})" for what, how in self.sources.items()]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)
