"""Flink SQL jobs for every story: render SQL templates, run them in the Flink venv, stop them cleanly.

Kernel infrastructure, because more than one story runs Flink SQL: story 3's
engagement stream (`streaming/`) and the feature cache's precompute
(`feature_cache/precompute/`). A story brings a directory of SQL templates
and the values to put in them; this package does the rest:

- `runner`: `FlinkJob` starts the job as its own process (pid file, log),
  waits for the first checkpoint or the end of a bounded run, stops it with a
  savepoint (commits the open Kafka transactions), kills it (a crash) and
  restarts it from the newest retained checkpoint. Backs story 3's
  "exactly-once semantics" and "checkpointing details" follow-up.
- `job_main`: the script that runs inside the Flink venv. It imports nothing
  from starlab (PyFlink pins libraries the main environment cannot share,
  ADR 0002), so its config travels as JSON.
- `ddl`: Flink SQL column lists generated from the engagement event's Avro
  contract, so no SQL file lists the event's columns by hand.
- `errors`: the package's errors, rooted in `starlab.errors.StarlabError`.
"""
