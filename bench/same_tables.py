"""Compare the tables of two data roots row for row (behaviour-unchanged checks after a refactor).

    python bench/same_tables.py ROOT_A ROOT_B

Every GeoParquet table under catalog/, products/, crops/ and sources/ is read, columns that record
when or where a run happened (``checked_at``, paths under the data root, the API's host and port in
URLs, the signatures of signed URLs) are normalised, rows are
sorted, and the two roots' tables are compared; the differing tables are listed with a sample of
differing rows. Exit status 0 when every table is equal, 1 otherwise.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd

RUN_COLUMNS = ("checked_at",)  # when the run looked, not what it found
URL = re.compile(r"https?://[^/\s]+(/[^?\s]*)(\?\S*)?")


def tables(root: Path) -> dict[str, pd.DataFrame]:
    """Every table of a data root, by its path relative to the root."""
    found = {}
    for folder in ("catalog", "products", "crops", "sources"):
        for path in sorted((root / folder).rglob("*.parquet")):
            found[str(path.relative_to(root))] = normalised(pd.read_parquet(path), root)
    return found


def normalised(frame: pd.DataFrame, root: Path) -> pd.DataFrame:
    frame = frame.drop(columns=[c for c in RUN_COLUMNS if c in frame.columns])
    for column in frame.columns:
        values = frame[column]
        if values.dtype == object or str(values.dtype).startswith(("str", "string")):
            frame[column] = values.map(lambda v: _text(v, root))
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def _text(value, root: Path) -> str:
    """A cell as comparable text: bytes as hex; in strings the data root and URL hosts and queries
    replaced."""
    if isinstance(value, bytes):
        return value.hex()
    if not isinstance(value, str):
        return repr(value)
    return URL.sub(r"<host>\1", value.replace(str(root), "<root>"))


def main(argv: list[str]) -> int:
    a, b = Path(argv[0]).resolve(), Path(argv[1]).resolve()
    left, right = tables(a), tables(b)
    differing = sorted(set(left) ^ set(right))
    for name in differing:
        print(f"only in {'A' if name in left else 'B'}: {name}")
    for name in sorted(set(left) & set(right)):
        x, y = left[name], right[name]
        if list(x.columns) != list(y.columns) or not x.equals(y):
            differing.append(name)
            print(f"differs: {name} ({len(x)} vs {len(y)} rows)")
            if list(x.columns) == list(y.columns) and len(x) == len(y):
                rows = (x != y).any(axis=1)
                print(pd.concat({"A": x[rows].head(3), "B": y[rows].head(3)}).to_string()[:2000])
    rows = sum(len(t) for t in left.values())
    print(f"{len(left)} tables, {rows} rows in A; {len(differing)} differ")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
