"""Prometheus, Alertmanager, the alert receiver and the exporters, as stack components.

Backs issue 11: `starlab up` starts them after the servers they watch, each on
127.0.0.1 with its data under `<home>/`. Prometheus and Alertmanager are
Debian's packages (2.42 and 0.25), run with starlab's own flags; their
package units never start. What each scrapes is in
`starlab/observability/config.py`; the alert rules are the stories' SLO
files (`Story.slo`), rendered at every start with `STARLAB_SLO_TIME_SCALE`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from starlab.errors import StackError
from starlab.observability import config
from starlab.settings import ROOT, Settings
from starlab.stack import prereqs
from starlab.stack.components import ServiceComponent

__all__ = [
    "AlertReceiver",
    "Alertmanager",
    "LagExporter",
    "PostgresExporter",
    "Prometheus",
    "RedisExporter",
    "render_story_rules",
]


def _get(url: str) -> str | None:
    """None when `url` answers 200, else why not (a probe's answer)."""
    try:
        r = httpx.get(url, timeout=2)
    except httpx.ConnectError:
        return "not answering"
    except httpx.HTTPError as exc:
        return f"GET {httpx.URL(url).path} failed: {type(exc).__name__}"
    return None if r.status_code == 200 else f"GET {httpx.URL(url).path} -> {r.status_code}"


class _HttpService(ServiceComponent):
    """A server whose address comes from a URL setting and whose probe is one GET."""

    probe_path = "/metrics"

    def __init__(self, settings: Settings, url: str) -> None:
        super().__init__(settings)
        u = httpx.URL(url)
        self.url = url.rstrip("/")
        self.host, self.port = u.host or "127.0.0.1", u.port or 80

    def probe(self) -> str | None:
        return _get(self.url + self.probe_path)


def render_story_rules(settings: Settings) -> list[Path]:
    """Every registered story's SLO file as Prometheus rules under `<prometheus_dir>/rules/`.

    Each file is checked with promtool before Prometheus sees it, so a bad
    SLO file stops `starlab up` with its path instead of a Prometheus that
    silently drops the group.
    """
    from starlab.observability.slo import check_with_promtool, load_slo_file, render
    from starlab.story import registered

    out = settings.prometheus_dir / "rules"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    keep = set()
    for story in registered():
        if not story.slo:
            continue
        text = render([load_slo_file(ROOT / story.slo)], time_scale=settings.slo_time_scale)
        check_with_promtool(text)
        path = out / f"{story.name}.yml"
        path.write_text(text)
        written.append(path)
        keep.add(path.name)
    for old in out.glob("*.yml"):
        # rules a test installed and did not remove (it was killed) must not linger
        if old.name not in keep and old.name.startswith("test-"):
            old.unlink()
    return written


class Prometheus(_HttpService):
    name = "prometheus"
    probe_path = "/-/ready"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, settings.prometheus_url)
        self.dir = settings.prometheus_dir

    def prepare(self) -> None:
        self._binary = prereqs.debian_binary("prometheus", "prometheus")
        (self.dir / "targets").mkdir(parents=True, exist_ok=True)
        (self.dir / "prometheus.yml").write_text(config.prometheus_config(self.settings))
        render_story_rules(self.settings)

    def argv(self) -> list[str]:
        return [
            getattr(self, "_binary", "prometheus"),
            f"--config.file={(self.dir / 'prometheus.yml').resolve()}",
            f"--storage.tsdb.path={(self.dir / 'data').resolve()}",
            "--storage.tsdb.retention.time=7d",
            f"--web.listen-address={self.host}:{self.port}",
            "--web.enable-lifecycle",  # POST /-/reload after a rule file changes
        ]

    def start(self) -> None:
        running = self.proc.pid() is not None
        super().start()
        if running:  # pick up the rules and scrape config this checkout renders now
            self.prepare()
            self.reload()

    def reload(self) -> None:
        """Re-read prometheus.yml and every rule file (POST /-/reload)."""
        try:
            r = httpx.post(f"{self.url}/-/reload", timeout=10)
        except httpx.HTTPError as exc:
            raise StackError(f"prometheus: reload failed: {type(exc).__name__}") from None
        if r.status_code != 200:
            raise StackError(f"prometheus: reload refused: {r.text.strip()[:300]}")


class Alertmanager(_HttpService):
    name = "alertmanager"
    probe_path = "/-/ready"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, settings.alertmanager_url)
        self.dir = settings.home / "alertmanager"

    def prepare(self) -> None:
        self._binary = prereqs.debian_binary("prometheus-alertmanager", "prometheus-alertmanager")
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "alertmanager.yml").write_text(config.alertmanager_config(self.settings))

    def argv(self) -> list[str]:
        return [
            getattr(self, "_binary", "prometheus-alertmanager"),
            f"--config.file={(self.dir / 'alertmanager.yml').resolve()}",
            f"--storage.path={(self.dir / 'data').resolve()}",
            f"--web.listen-address={self.host}:{self.port}",
            # empty: no gossip listener (it would bind 0.0.0.0:9094); one node needs no cluster
            "--cluster.listen-address=",
        ]


class AlertReceiver(_HttpService):
    name = "alert-receiver"
    probe_path = "/healthz"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, settings.alert_receiver_url)

    def argv(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "starlab.observability.receiver",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--log",
            str(self.settings.alerts_log.resolve()),
        ]


class LagExporter(_HttpService):
    name = "lag-exporter"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, f"http://127.0.0.1:{settings.lag_exporter_port}")

    def argv(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "starlab.observability.lag",
            "--bootstrap",
            self.settings.kafka_bootstrap,
            "--port",
            str(self.port),
            "--interval",
            str(self.settings.scrape_interval_s),
        ]


class RedisExporter(_HttpService):
    name = "redis-exporter"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, f"http://127.0.0.1:{settings.redis_exporter_port}")

    def prepare(self) -> None:
        self._binary = prereqs.debian_binary("prometheus-redis-exporter", "prometheus-redis-exporter")

    def argv(self) -> list[str]:
        return [
            getattr(self, "_binary", "prometheus-redis-exporter"),
            "-redis.addr",
            self.settings.redis_url,
            "-web.listen-address",
            f"{self.host}:{self.port}",
        ]


class PostgresExporter(_HttpService):
    name = "postgres-exporter"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, f"http://{settings.postgres.host}:{settings.postgres_exporter_port}")

    def prepare(self) -> None:
        self._binary = prereqs.debian_binary("prometheus-postgres-exporter", "prometheus-postgres-exporter")

    def env(self) -> dict[str, str]:
        # the app role: enough for pg_up and pg_stat_database, no superuser
        sep = "&" if "?" in self.settings.postgres_url else "?"
        return {"DATA_SOURCE_NAME": f"{self.settings.postgres_url}{sep}sslmode=disable"}

    def argv(self) -> list[str]:
        return [
            getattr(self, "_binary", "prometheus-postgres-exporter"),
            f"--web.listen-address={self.host}:{self.port}",
        ]
