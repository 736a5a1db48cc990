"""A run's view of the live Prometheus: is it there, extra rules for one run, the alerts it raised.

A demo or a test with compressed SLOs (a 30 s stall, not a 5-minute one)
installs its own rule file beside the stories' (`installed_rules`), scoped to
its run by a label matcher, and removes it afterwards. What fired is read
from the alert receiver's log (`alerts_for`): the same notifications an
on-call engineer would have got, after Prometheus' `for`, Alertmanager's
grouping and the webhook, not a shortcut around them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import httpx
import yaml

from starlab.errors import StackError
from starlab.observability.receiver import AlertRecord, read_log

if TYPE_CHECKING:
    from pathlib import Path

    from starlab.settings import Settings

__all__ = ["alerts_for", "installed_rules", "prometheus_ready", "reload"]


def prometheus_ready(settings: Settings) -> bool:
    try:
        return httpx.get(f"{settings.prometheus_url}/-/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def reload(settings: Settings) -> None:
    try:
        r = httpx.post(f"{settings.prometheus_url}/-/reload", timeout=10)
    except httpx.HTTPError as exc:
        raise StackError(
            f"prometheus at {settings.prometheus_url}: reload failed: {type(exc).__name__}"
        ) from None
    if r.status_code != 200:
        raise StackError(f"prometheus refused the rules: {r.text.strip()[:300]}")


def _loaded_groups(settings: Settings) -> set[str]:
    r = httpx.get(f"{settings.prometheus_url}/api/v1/rules", timeout=5)
    r.raise_for_status()
    return {g["name"] for g in r.json()["data"]["groups"]}


@contextmanager
def installed_rules(settings: Settings, name: str, text: str, timeout_s: float = 30.0) -> Iterator[Path]:
    """Add `rules/test-<name>.yml`, reload, and wait until Prometheus evaluates its groups.

    Removed and reloaded on exit; a file left by a killed run is removed by
    the next `starlab up` (it only keeps the stories' files).
    """
    groups = {g["name"] for g in (yaml.safe_load(text) or {}).get("groups", [])}
    path = settings.prometheus_dir / "rules" / f"test-{name}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    try:
        reload(settings)
        deadline = time.monotonic() + timeout_s
        while not groups <= _loaded_groups(settings):
            if time.monotonic() > deadline:
                raise StackError(
                    f"prometheus did not load {sorted(groups)} from {path} within {timeout_s:.0f} s"
                )
            time.sleep(0.2)
        yield path
    finally:
        path.unlink(missing_ok=True)
        if prometheus_ready(settings):
            reload(settings)


def alerts_for(settings: Settings, since: float, **labels: str) -> list[AlertRecord]:
    """The receiver's records since `since` whose labels include every `labels` item."""
    return [
        r
        for r in read_log(settings.alerts_log, since)
        if all(r.labels.get(k) == v for k, v in labels.items())
    ]
