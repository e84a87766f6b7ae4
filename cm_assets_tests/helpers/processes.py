"""The processes running on this machine, read from /proc."""

from __future__ import annotations

import os
from pathlib import Path


def processes_mentioning(text: str) -> dict[int, str]:
    """The other processes whose command line contains ``text``: pid → command line."""
    found = {}
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        if cmdline.parent.name == str(os.getpid()):
            continue
        try:
            args = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in args:
            found[int(cmdline.parent.name)] = args
    return found
