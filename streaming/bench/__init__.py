"""Story 3's benchmark (`starlab stream bench`): Flink throughput with exactly-once sinks against a
plain passthrough, p99 latency exactly-once vs at-least-once, the backfill rate, and two allowed
latenesses on the same input. Figures and ratios come from one run (`run.run_bench`)."""
