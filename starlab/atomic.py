"""Atomic file writes: a reader sees the old file or the new one, never half of either.

Every state file starlab keeps (the rankings flag, evidence claims and
reports, bench results, the CDC lake dims) is replaced this way: write a
temporary file in the same folder, fsync it, then `os.replace` it over the
target, which POSIX makes atomic within one file system. A crash mid-write
leaves the old file and a hidden `.name.*.tmp` that the next write ignores.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["write_bytes_atomic", "write_json_atomic", "write_text_atomic"]


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` in one rename; the parent folder is created if missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            # Without fsync a power loss can leave the renamed file empty: the
            # rename reaches the disk before the data does on some file systems.
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """`write_bytes_atomic` for UTF-8 text."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: Path, data: Any) -> None:
    """Indented JSON, atomically; NaN and infinity are refused (not JSON, breaks jq and browsers)."""
    text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    write_text_atomic(path, text)
