"""The RFC's cost arithmetic on a case worked out by hand (conftest's small prices and measurements).

Backs issue 10's acceptance "the RFC cost arithmetic on a hand-checked case"
and story 3's cost formula: vCPU-h x $/vCPU-h + GiB-h x $/GiB-h + storage +
egress (+ Kafka, + managed services for option B).

The hand computation, at E = 88,473,600 events/day (1,024/s mean, 2,048/s
at the x2 peak):

Scale
  ingest   = E x 1,024 B / 2^30 = 84.375 GiB/day
  lake     = E x 1,024 B x 10 days / 2^30 = 843.75 GiB held -> x $0.03 / 30 = $0.84375/day
  batch    = measured run x100 (E / 884,736): 36 CPU-s x 100 / 3,600 / 0.5 util = 2 vCPU-h,
             0.05 GiB-h x 100 / 0.5 = 10 GiB-h per run = $0.10 + $0.10

Status quo: metrics 1 run (2 vCPU-h, 10 GiB-h) + other 2x (4 vCPU-h, 20 GiB-h)
  compute 6 x 0.05 = $0.30; memory 30 x 0.01 = $0.30; batch $0.60; storage $0.84375
  total $1.44375/day

Option A
  Flink vCPU: 500 us/event x 1,024/s = 0.512 mean; x2 / 0.5 + 1 JM = 3.048 vCPU x 24 h
              = 73.152 vCPU-h x $0.05 = $3.6576
  Flink mem:  1/1,024 GiB-s/event x 1,024/s = 1 GiB mean; x2 / 0.5 + 2 JM = 6 GiB x 24 h
              = 144 GiB-h x $0.01 = $1.44
  Kafka:      need 250 us x 2,048/s / 0.5 = 1.024 vCPU (1 broker), 2/1,024 x 2,048 / 0.5 = 8 GiB
              (2 brokers) -> max(3 configured, rf 3, 1, 2) = 3 brokers
              vCPU 3 x 2 x 24 = 144 vCPU-h = $7.20; memory 3 x 4 x 24 = 288 GiB-h = $2.88
              disk need 84.375 x 2 days x rf 3 / 0.5 fill = 1,012.5 GiB > 3 x 100, so
              337.5 GiB per broker; 1,012.5 x $0.1 / 30 = $3.375
              kafka line $13.455
  egress:     crossings (3 - 1) + (1 - 1/3) x (1 + 1) = 10/3; 84.375 x 10/3 = 281.25 GiB x $0.02 = $5.625
  commits:    86,400 / 10 s = 8,640; PUT 8,640 x 5 = 43,200 -> $0.216; GET 8,640 x 1 -> $0.00864
  batch:      reconciliation 0.5 run ($0.05 + $0.05), other 2 runs ($0.20 + $0.20) = $0.50
  compute 3.6576 + 0.05 + 0.20 = $3.9076; memory 1.44 + 0.05 + 0.20 = $1.69
  storage 0.84375 + 0.216 + 0.00864 = $1.06839
  total 3.9076 + 1.69 + 1.06839 + 5.625 + 13.455 = $25.74599/day
  batch compute change (0.50 - 0.60) / 0.60 = -16.667%
  net change (25.74599 - 1.44375) / 1.44375 = +1,683.27%

Option B (modelled)
  shards: records ceil(2,048 / 1,000) = 3, bytes ceil(2,048 x 1,024 / 2^20) = 2 -> 3 shards
  shard-h 72 x $0.015 = $1.08; extended retention 72 x $0.02 = $1.44
  PUT units: 1 per event (1 KiB < 25 KB): 88.4736 M x $0.014 = $1.2386304
  functions: E x 0.0005 CPU-s x 2 GB/vCPU / 0.5 busy = 176,947.2 GB-s x $0.00001 = $1.769472
  requests: E / 1,024 = 86,400 x $0.2/M = $0.01728
  dedup: 88.4736 M writes x $1/M = $88.4736
  Delta: 86,400 commits x 2 files PUT = $0.864; 86,400 GET x $0.001/1,000 = $0.0864
  lake $0.84375; batch $0.50
  managed 1.08 + 1.44 + 1.2386304 + 1.769472 + 0.01728 + 88.4736 = $94.0189824
  total $96.3131324/day; fill time min(60 s, 1,024 / (1,024/3 per shard)) = 3 s

Break-even batch scale k (every batch job k times bigger): A_rest + k x 0.5 = SQ_rest + k x 0.6
  -> k = (25.24599 - 0.84375) / 0.1 = 244.0224; the story's -18% needs 0.82 x 0.6 > 0.5: not reachable.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from streaming.rfc.measure import MeasurementSet
from streaming.rfc.model import DAYS_PER_MONTH, Line, OptionId, compare, sensitivity
from streaming.rfc.prices import Prices

approx = lambda x: pytest.approx(x, rel=1e-9, abs=1e-9)  # noqa: E731 - the hand figures are exact


def test_status_quo_by_hand(small_prices: Prices, small_measurements: Callable[..., MeasurementSet]) -> None:
    c = compare(small_prices, small_measurements())
    sq = c.status_quo
    assert c.scale.ingest_gb_day == approx(84.375)
    assert c.scale.lake_gb_held == approx(843.75)
    assert c.scale.batch_factor == approx(100)
    assert sq.compute_usd_day == approx(0.30)
    assert sq.memory_usd_day == approx(0.30)
    assert sq.storage_usd_day == approx(0.84375)
    assert sq.egress_usd_day == 0 and sq.kafka_usd_day == 0 and sq.managed_usd_day == 0
    assert sq.batch_compute_usd_day == approx(0.60)
    assert sq.total_usd_day == approx(1.44375)
    assert sq.total_usd_month == approx(1.44375 * DAYS_PER_MONTH)


def test_option_a_by_hand(small_prices: Prices, small_measurements: Callable[..., MeasurementSet]) -> None:
    c = compare(small_prices, small_measurements())
    a = c.option_a
    assert c.flink_vcpu == approx(3.048)
    assert c.flink_gb == approx(6.0)
    assert c.kafka.brokers == 3
    assert c.kafka.vcpu_needed_at_peak == approx(1.024)
    assert c.kafka.gb_needed_at_peak == approx(8.0)
    assert c.kafka.disk_needed_gb == approx(1012.5)
    assert c.kafka.disk_gb_per_broker == approx(337.5)
    assert a.compute_usd_day == approx(3.9076)
    assert a.memory_usd_day == approx(1.69)
    assert a.storage_usd_day == approx(1.06839)
    assert a.egress_usd_day == approx(5.625)
    assert a.kafka_usd_day == approx(13.455)
    assert a.managed_usd_day == 0
    assert a.batch_compute_usd_day == approx(0.50)
    assert a.total_usd_day == approx(25.74599)
    assert c.batch_compute_change_pct == approx(-100 / 6)
    assert c.net_cost_change_pct == approx((25.74599 - 1.44375) / 1.44375 * 100)


def test_option_b_by_hand(small_prices: Prices, small_measurements: Callable[..., MeasurementSet]) -> None:
    c = compare(small_prices, small_measurements())
    b = c.option_b
    assert b.modelled and not c.option_a.modelled
    assert c.kinesis_shards == 3
    assert b.managed_usd_day == approx(94.0189824)
    assert b.storage_usd_day == approx(0.84375 + 0.864 + 0.0864)
    assert b.compute_usd_day == approx(0.25) and b.memory_usd_day == approx(0.25)
    assert b.egress_usd_day == 0 and b.kafka_usd_day == 0
    assert b.total_usd_day == approx(96.3131324)
    assert c.option_b_fill_s == approx(3.0)
    assert c.cheaper_stream.option is OptionId.a
    assert c.cheapest.option is OptionId.status_quo


def test_break_even_batch_scale(
    small_prices: Prices, small_measurements: Callable[..., MeasurementSet]
) -> None:
    c = compare(small_prices, small_measurements())
    assert c.breakeven_batch_scale == approx((25.74599 - 0.5 - 0.84375) / 0.1)
    # A retires 16.7% of the batch: no batch size gets the net change down to -18%.
    assert c.story_net_batch_scale is None


def test_every_line_is_the_sum_of_its_items(
    small_prices: Prices, small_measurements: Callable[..., MeasurementSet]
) -> None:
    c = compare(small_prices, small_measurements())
    for option in c.options:
        assert option.total_usd_day == approx(sum(option.line_usd_day(line) for line in Line))
        for item in option.items:
            assert item.usd_day >= 0
            assert item.basis


def test_measured_broker_load_raises_the_broker_count(
    small_prices: Prices, small_measurements: Callable[..., MeasurementSet]
) -> None:
    # 10x the broker CPU: 2,500 us/event x 2,048/s / 0.5 = 10.24 vCPU -> 6 brokers of 2 vCPU.
    c = compare(small_prices, small_measurements(kafka_cpu_s=2560.0))
    assert c.kafka.brokers == 6
    assert "raised from 3 to 6 brokers" in c.kafka.reason
    assert c.option_a.kafka_usd_day == approx(6 * 2 * 24 * 0.05 + 6 * 4 * 24 * 0.01 + 1012.5 * 0.1 / 30)


def test_linear_in_events_for_batch_and_per_use_lines(
    small_prices: Prices, small_measurements: Callable[..., MeasurementSet]
) -> None:
    ms = small_measurements()
    base = compare(small_prices, ms)
    double = compare(small_prices.with_events_per_day(2 * 88_473_600, "test"), ms)
    assert double.status_quo.batch_compute_usd_day == approx(2 * base.status_quo.batch_compute_usd_day)
    assert double.option_b.managed_usd_day > 1.9 * base.option_b.managed_usd_day
    # Kafka moves in steps: at 4,096 events/s the measured broker memory needs 2/1,024 x 4,096 / 0.5
    # = 16 GiB -> a 4th broker ($2.40 + $0.96 a day), and the retention twice the disk (+$3.375).
    assert (base.kafka.brokers, double.kafka.brokers) == (3, 4)
    assert double.option_a.kafka_usd_day - base.option_a.kafka_usd_day == approx(2.40 + 0.96 + 3.375)


def test_sensitivity_cases(small_prices: Prices, small_measurements: Callable[..., MeasurementSet]) -> None:
    cases = {s.name: s for s in sensitivity(small_prices, small_measurements())}
    base = cases["base"]
    assert base.a_usd_day == approx(25.74599)
    assert cases["volume -50%"].status_quo_usd_day < base.status_quo_usd_day
    assert cases["Kafka 6 brokers"].a_usd_day == approx(25.74599 + 3 * (2 * 24 * 0.05 + 4 * 24 * 0.01))
    # Without a write per event, B loses its $88.47 of dedup writes and becomes the cheaper stream.
    no_dedup = cases["B without per-event dedup writes"]
    assert no_dedup.b_usd_day == approx(96.3131324 - 88.4736)
    assert no_dedup.cheaper_stream is OptionId.b
    assert cases["batch estate 100x"].a_net_change_pct < base.a_net_change_pct
