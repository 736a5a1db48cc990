"""Story 3's benchmark (`starlab stream bench`): Flink throughput with exactly-once sinks against a
plain passthrough, p99 latency exactly-once vs at-least-once, the backfill rate, and two allowed
latenesses on the same input. Figures and ratios come from one run (`run.run_bench`)."""

THROUGHPUT_EVENTS = 2_000_000
"""Events preloaded for a throughput run (bench, capacity). The job's JIT compiler keeps one of
the 2 cores busy for its first 20-30 s: over 1M events the second half (about 12 s) still paid
for it, 37,691 events/s against 51,908 over the second half of 2M (3 Dec 2026, one run each)."""

__all__ = ["THROUGHPUT_EVENTS"]
