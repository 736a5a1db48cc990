"""Errors of the lake (the Iceberg tables and their catalog), under `starlab.errors.StarlabError`."""

from __future__ import annotations

from starlab.errors import ConfigError, StarlabError, TransientError


class LakeError(StarlabError):
    """Root of the lake's errors; terminal unless it is a `LakeTransientError`."""


class LakeTransientError(LakeError, TransientError):
    """May pass on retry: another writer committed first (a compaction racing the stream)."""


class LakeConfigError(LakeError, ConfigError):
    """The catalog URL or a maintenance option is invalid; the message names it."""


class MaintenanceError(LakeError):
    """Compaction or snapshot expiry failed; the table is unchanged (Iceberg commits are atomic)."""


__all__ = ["LakeConfigError", "LakeError", "LakeTransientError", "MaintenanceError"]
