"""pydantic's validation errors as the one line a user reads (every story's config and file readers).

Every reader of a file starlab or its user wrote (SLO files, contracts'
subjects and replay scripts, the RFC's measurements, claims files, the
rankings flag) rejects bad input with one line naming the path and the field.
They all word the field the same way, from here.
"""

from __future__ import annotations

from pydantic import ValidationError
from pydantic_core import ErrorDetails

__all__ = ["error_location", "one_line"]


def error_location(err: ErrorDetails) -> str:
    """Where an error is, as a reader writes it: `("claims", 2, "measured")` -> `claims[2].measured`.

    Empty for the document itself (callers put the file's path before it).
    """
    # A dict key's own error has the location part "[key]", which is already bracketed.
    loc = "".join(
        f"[{p}]" if isinstance(p, int) else p if p == "[key]" else f".{p}" for p in err["loc"]
    ).lstrip(".")
    return loc


def one_line(exc: ValidationError, shown: int = 3) -> str:
    """The first `shown` errors as `field: message; field: message (+N more)`.

    An unknown key comes first: a typo ("versoins") is the cause of the
    "Field required" error next to it, so it is what the reader must see.
    """
    errors = sorted(exc.errors(include_url=False), key=lambda e: e["type"] != "extra_forbidden")
    parts = [f"{loc}: {e['msg']}" if (loc := error_location(e)) else e["msg"] for e in errors[:shown]]
    more = f" (+{len(errors) - shown} more)" if len(errors) > shown else ""
    return "; ".join(parts) + more
