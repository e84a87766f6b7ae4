"""Writing report files: atomically (temporary name, then rename), listed in a ``Report``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cm_assets.carbonmapper.atomic import write_atomic


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
