"""Errors of the CDC bridge: what stops it for good and what a retry can fix.

A schema change the registry refuses (`SchemaRejectedError`) is the story-1
breakage caught in flight: the bridge stops before the change reaches the
Avro topic or the lake, and Debezium keeps every change in the change topic
so nothing is lost while the contract is sorted out.
"""

from __future__ import annotations

from starlab.errors import StarlabError, TransientError


class CdcError(StarlabError):
    """Root of the CDC bridge's errors."""


class UnsupportedColumnError(CdcError):
    """A column type the Connect -> Avro mapping does not cover (terminal)."""


class MalformedChangeError(CdcError):
    """A record on a change topic is not a Debezium change event (terminal)."""


class SchemaRejectedError(CdcError):
    """The schema registry refused the derived schema under the subject's mode (terminal)."""

    def __init__(self, subject: str, message: str) -> None:
        super().__init__(f"registry refused a new schema for {subject}: {message}")
        self.subject = subject


class CdcUnavailableError(CdcError, TransientError):
    """Kafka or the registry did not answer in time (retry)."""
