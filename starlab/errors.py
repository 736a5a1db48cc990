"""The root exception of the kernel.

Every error a user can cause or meet (bad input, a missing tool, a busy port)
derives from `StarlabError` so the CLI can print it as one line instead of a
traceback. `TransientError` marks what is worth retrying.
"""

from __future__ import annotations


class StarlabError(Exception):
    """Base of every error starlab raises on purpose; printed as one line."""


class TransientError(StarlabError):
    """A failure that may pass on retry (a service still starting, a timeout)."""


class ConfigError(StarlabError):
    """A setting or input file is wrong; the message says which and how."""


class StackError(StarlabError):
    """The local stack cannot start, stop or be reached."""
