"""Errors of the feature-cache story (story 4 and the 004 fan-out story).

One root, `FeatureCacheError`, under the kernel's `StarlabError` so the CLI
prints it as one line. Callers branch on the class, never on the message:
a `FeatureCacheTransientError` is what a retry, a breaker or a fallback
handles (a dependency timed out, Redis is restarting); everything else is
terminal (bad input, a broken invariant) and must surface.
"""

from __future__ import annotations

from starlab.errors import ConfigError, StarlabError, TransientError


class FeatureCacheError(StarlabError):
    """Root of the feature-cache story's errors; terminal unless transient."""


class FeatureCacheTransientError(FeatureCacheError, TransientError):
    """May pass on retry: a dependency timed out or failed, Redis is unreachable."""


class DependencyError(FeatureCacheTransientError):
    """A downstream service (social graph, embeddings, geo, abuse) failed or timed out."""


class FeatureCacheConfigError(FeatureCacheError, ConfigError):
    """An input file or setting of this story is invalid; the message names the field."""


__all__ = [
    "DependencyError",
    "FeatureCacheConfigError",
    "FeatureCacheError",
    "FeatureCacheTransientError",
]
