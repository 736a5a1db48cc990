"""Streaming precompute of per-user features into Redis (story 004's design B, story 4's online store).

Backs story 004's "streaming materialization (Kafka + Flink) to precompute
features into Redis with a 5-minute TTL" and "dynamic TTLs (shorter for
rapidly changing features, longer otherwise) ... tied to observed update
rates and queue lag", and story 4's offline history that point-in-time joins
read:

- `sql/`: the Flink SQL job (run by the kernel's `starlab.flink.runner`):
  the events topic (Avro via the registry), keep-first dedup on event_id,
  sliding-window counts and rates, last item, session and last-60-s
  activity, a 24-hour preferred platform, emitted exactly-once to the
  compacted topic `features.user.v1`;
- `features`: the feature groups (names, types, TTL bounds) the SQL, Redis
  and the offline history share;
- `job`: this job on the kernel runner (its template values and topics);
- `records`: a topic record as a typed `FeatureRecord`, and its Redis hash;
- `ttl`: the dynamic TTL policy (update-rate EWMA, stream lag, bounds);
- `materializer`: topic -> Redis hashes in pipelines (offsets stored only
  after Redis accepted the batch) -> offline history;
- `measure`: freshness, event -> Redis latency and materializer throughput
  of one live run, as typed results;
- `command`: `starlab features precompute sql|run|measure` (a Typer group
  the `features` CLI mounts);
- `settings`: `STARLAB_FEATURES_PRECOMPUTE_*`.
"""
