"""The three labeled datasets: deterministic, every trap present, and starlab's join clean on all of them."""

from __future__ import annotations

import pytest

from feature_cache.offline.asof import build_training_set
from feature_cache.offline.datasets import CASES, DATASETS, build_dataset, load_dataset
from feature_cache.offline.history import HistoryStore
from feature_cache.offline.leakage import check_leakage
from feature_cache.offline.schema import DEFAULT_SCHEMA


def test_three_datasets_with_distinct_seeds() -> None:
    assert len(DATASETS) == 3
    assert len({d.seed for d in DATASETS}) == 3
    assert len({d.name for d in DATASETS}) == 3


def test_same_seed_same_data() -> None:
    a, b = build_dataset(DATASETS[1]), build_dataset(DATASETS[1])
    assert a.spine.equals(b.spine)
    assert a.versions == b.versions


@pytest.mark.parametrize("spec", DATASETS, ids=lambda s: s.name)
def test_every_trap_is_set_and_starlab_joins_it_without_leaks(spec: object) -> None:
    ds = build_dataset(spec)  # type: ignore[arg-type]
    for case in (*CASES, "random", "no_history"):
        assert ds.case_rows.get(case, 0) > 0, case
    with HistoryStore.open(":memory:") as store:
        assert load_dataset(ds, store) == len(ds.versions)
        ts = build_training_set(store.con, ds.spine, DEFAULT_SCHEMA)
        rep = check_leakage(store.con, ds.spine, ts.table, DEFAULT_SCHEMA)
    assert ts.output_rows == ts.spine_rows == ds.spine.num_rows
    assert (rep.leaks, rep.wrong_values, rep.missing_rows) == (0, 0, 0)
    cases = {c.case: c for c in rep.cases}
    # The traps are set where the right answer is NULL or a value, as designed:
    assert cases["ttl_beyond"].null_cells >= cases["ttl_beyond"].spine_rows  # activity NULL on each
    assert cases["no_history"].null_cells == 2 * cases["no_history"].spine_rows
    assert cases["late_correction"].null_cells == 0
    assert cases["tie_event_ts"].null_cells == 0
