"""How a story plugs into starlab without the kernel naming it.

Each story package declares one `Story` and lists it under the
`starlab.stories` entry-point group of pyproject.toml:

    [project.entry-points."starlab.stories"]
    stream = "streaming:STORY"

`registered()` reads that group; the CLI adds each story's Typer group under
its name and `starlab demo` runs each story's demo step in `order`. Adding a
story therefore edits its own package and one line of pyproject.toml, never
a file under `starlab/` (DESIGN.md: "the kernel knows no story").

The CLI group and the demo step are named by "module:attribute" strings and
imported only when used, so `starlab --help` does not import Flink, dbt or
Great Expectations.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Protocol, cast

from starlab.errors import ConfigError

if TYPE_CHECKING:
    import typer

    from starlab.evidence import Claim
    from starlab.evidence.star import StarScript
    from starlab.observability.dashboard import Dashboard
    from starlab.settings import Settings

__all__ = ["ENTRY_POINT_GROUP", "DemoContext", "DemoOutcome", "DemoStep", "Story", "by_name", "registered"]

ENTRY_POINT_GROUP = "starlab.stories"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class DemoContext:
    """What a demo step gets: the settings, the data size and a progress printer."""

    settings: Settings
    events: int
    """Unique events the foundation and the stream step generate; other steps scale from it."""
    progress: Progress


@dataclass(frozen=True)
class DemoOutcome:
    """What a demo step measured, and what went wrong beyond a missed figure.

    `claims` are recorded whatever happened. `problems` are correctness
    failures (data lost, a bad version served, a gate that let a breakage
    through): the kernel records the claims first, then fails the demo with
    them, so a broken run still leaves its evidence behind.
    """

    claims: list[Claim]
    problems: list[str] = field(default_factory=list)


class DemoStep(Protocol):
    """A story's demo: runs the story end to end on generated data."""

    def __call__(self, ctx: DemoContext) -> DemoOutcome: ...


@dataclass(frozen=True)
class Story:
    """One story's declaration: its names, its place in the demo, and where its parts live."""

    name: str
    """CLI group and demo step name: `starlab <name> ...`, `starlab demo <name>`."""
    evidence_id: str
    """Id of its claims in the evidence report (`reports/latest/claims/<id>.json`)."""
    title: str
    """One line for `--help` and the demo's progress."""
    order: int
    """Position in `starlab demo` (lower first): later stories read what earlier ones wrote."""
    cli: str | None = None
    """"module:attribute" of its `typer.Typer` group, or None for no commands."""
    demo: str | None = None
    """"module:attribute" of its `DemoStep`, or None if it has no demo step."""
    slo: str | None = None
    """Repo-relative path of its SLO file (starlab/observability/slo.py): `starlab up`
    renders it into Prometheus alerting and recording rules."""
    dashboard: str | None = None
    """"module:attribute" of its `Dashboard` (starlab/observability/dashboard.py): the
    panels `starlab dashboards` draws from Prometheus over a run."""
    star: str | None = None
    """"module:attribute" of its STAR scripts, a tuple of `StarScript` (starlab/evidence/star.py):
    the spoken answers `reports/latest/star/<id>.md` are rendered from."""

    def load_cli(self) -> typer.Typer | None:
        return cast("typer.Typer", _resolve(self.cli)) if self.cli else None

    def load_demo(self) -> DemoStep | None:
        return cast(DemoStep, _resolve(self.demo)) if self.demo else None

    def load_dashboard(self) -> Dashboard | None:
        return cast("Dashboard", _resolve(self.dashboard)) if self.dashboard else None

    def load_star(self) -> tuple[StarScript, ...] | None:
        if not self.star:
            return None
        from starlab.evidence.star import StarScript

        scripts = _resolve(self.star)
        if not isinstance(scripts, tuple) or not all(isinstance(s, StarScript) for s in scripts):
            raise ConfigError(f"story {self.name}: {self.star} is not a tuple of StarScript")
        return scripts


def _resolve(ref: str) -> object:
    module, _, attr = ref.partition(":")
    if not attr:
        raise ConfigError(f"story reference {ref!r} must be 'module:attribute'")
    return getattr(importlib.import_module(module), attr)


@lru_cache(maxsize=1)
def registered() -> tuple[Story, ...]:
    """Every installed story, in demo order; a bad declaration is a one-line ConfigError."""
    stories: list[Story] = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        story = ep.load()
        if not isinstance(story, Story):
            raise ConfigError(f"entry point {ep.name} = {ep.value} is a {type(story).__name__}, not a Story")
        if story.name != ep.name:
            raise ConfigError(f"entry point {ep.name} = {ep.value} declares the story name {story.name!r}")
        stories.append(story)
    names = [s.name for s in stories]
    if len(set(names)) != len(names):
        raise ConfigError(f"two stories share a name: {sorted(names)}")
    return tuple(sorted(stories, key=lambda s: (s.order, s.name)))


def by_name(name: str) -> Story:
    for story in registered():
        if story.name == name:
            return story
    raise ConfigError(f"unknown story {name!r}; choose all or one of {[s.name for s in registered()]}")
