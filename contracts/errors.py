"""Errors of the data-contracts story (story 1).

One root, `ContractsError`, under the kernel's `StarlabError`. A contract
*violation* is not an exception: the gate returns violations as data and
exits 1. Exceptions are for what stops the gate from judging at all: a bad
schema file (terminal, exit 2) or a service that is not reachable yet
(transient).
"""

from __future__ import annotations

from starlab.errors import ConfigError, StarlabError, TransientError


class ContractsError(StarlabError):
    """Root of the contracts story's errors; terminal unless transient."""


class ContractsTransientError(ContractsError, TransientError):
    """May pass on retry: the registry, PostgreSQL or Kafka Connect is not reachable yet."""


class BadContractInput(ContractsError, ConfigError):
    """A schema, contract or change-request file is unreadable or invalid (exit 2, one line)."""


__all__ = ["BadContractInput", "ContractsError", "ContractsTransientError"]
