"""Loading `prices.yaml`: the shipped file is complete and sourced; a bad file is one line naming it.

Backs the RFC's rule that every price has a source, and the CLI promise that
bad input exits 2 with the file and the problem, never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from starlab.errors import ConfigError
from streaming.errors import StreamConfigError
from streaming.rfc.errors import RfcInputError
from streaming.rfc.prices import DEFAULT_PRICES_PATH, Amount, Count, load_prices

Document = Callable[[], dict[str, Any]]
Write = Callable[[Path, object], Path]


def _amounts(model: BaseModel) -> list[Amount | Count]:
    out: list[Amount | Count] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, Amount | Count):
            out.append(value)
        elif isinstance(value, BaseModel):
            out += _amounts(value)
    return out


def test_the_shipped_prices_load_and_every_number_has_a_source() -> None:
    prices = load_prices()
    amounts = _amounts(prices)
    assert len(amounts) > 40
    assert all(a.source.strip() for a in amounts)
    assert all(job.source.strip() for job in prices.batch.jobs.values())
    assert prices.as_of.year == 2026
    # Option B is priced from public pages; the file says it is modelled.
    assert "MODELLED" in DEFAULT_PRICES_PATH.read_text()


def test_the_prices_are_frozen() -> None:
    prices = load_prices()
    with pytest.raises(Exception, match="frozen"):
        prices.compute.vcpu_hour_usd.value = 0.0  # type: ignore[misc]


def _error(path: Path) -> RfcInputError:
    with pytest.raises(RfcInputError) as info:
        load_prices(path)
    err = info.value
    assert isinstance(err, StreamConfigError) and isinstance(err, ConfigError)
    assert "\n" not in str(err)
    assert str(err).startswith(f"{path}: ")
    return err


def test_missing_file(tmp_path: Path) -> None:
    err = _error(tmp_path / "nope.yaml")
    assert "cannot read: No such file or directory" in str(err)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("volume:\n  events_per_day: [1\n")
    assert "line 3" in str(_error(path)) and "invalid YAML" in str(_error(path))


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("")
    assert "expected a mapping, got an empty file" in str(_error(path))


def test_duplicate_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("region: a\nregion: b\n")
    assert "duplicate key 'region' (line 2)" in str(_error(path))


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d["compute"].pop("vcpu_hour_usd"), "compute.vcpu_hour_usd: missing"),
        (
            lambda d: d["storage"]["put_per_1000_usd"].update(value=-1),
            "storage.put_per_1000_usd: input should be greater than or equal to 0, got -1",
        ),
        (
            lambda d: d["network"]["inter_az_gb_usd"].update(value="0.02"),
            "network.inter_az_gb_usd: input should be a valid number, got '0.02'",
        ),
        (lambda d: d["compute"].update(vcpu_hr=1), "compute.vcpu_hr: unknown key"),
        (lambda d: d["compute"]["gb_hour_usd"].update(source=""), "compute.gb_hour_usd.source"),
        (
            lambda d: d["option_b"]["kinesis"]["retention_days"].update(value=30),
            "option_b.kinesis.retention_days: input should be less than or equal to 7, got 30",
        ),
        (
            lambda d: d["option_a"]["kafka"]["replication_factor"].update(value=4),
            "replication_factor (4) must not exceed availability_zones (3)",
        ),
        (
            lambda d: d["batch"]["jobs"]["other"]["runs_per_day"].pop("option_b"),
            "batch.jobs.other.runs_per_day.option_b: missing",
        ),
    ],
)
def test_bad_value_names_the_field(
    tmp_path: Path,
    small_document: Document,
    write_yaml: Write,
    edit: Callable[[dict[str, Any]], object],
    expected: str,
) -> None:
    doc = small_document()
    edit(doc)
    err = _error(write_yaml(tmp_path / "prices.yaml", doc))
    assert expected in str(err)


def test_all_problems_in_one_line(tmp_path: Path, small_document: Document, write_yaml: Write) -> None:
    doc = small_document()
    doc["compute"].pop("vcpu_hour_usd")
    doc["storage"]["get_per_1000_usd"]["value"] = -2
    err = _error(write_yaml(tmp_path / "prices.yaml", doc))
    assert len(err.problems) == 2
    assert "compute.vcpu_hour_usd: missing; storage.get_per_1000_usd:" in str(err)
