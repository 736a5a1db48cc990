"""Errors of the kernel's Flink runner, under `starlab.errors.StarlabError`.

A story that wraps the runner may translate them into its own root (story 3
raises `streaming.errors.JobError`); callers branch on the class.
"""

from __future__ import annotations

from starlab.errors import ConfigError, StarlabError


class FlinkError(StarlabError):
    """Root of the Flink runner's errors."""


class FlinkJobError(FlinkError):
    """The job could not start, died, did not finish in time, or ended without finishing."""


class FlinkConfigError(FlinkError, ConfigError):
    """A SQL template names a value nobody gave, an option is invalid, or an Avro type has no column type."""


__all__ = ["FlinkConfigError", "FlinkError", "FlinkJobError"]
