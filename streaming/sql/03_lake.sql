-- Deduplicated events (late ones included) as Parquet, partitioned by UTC
-- event date: the lake dbt reads. The file sink writes in-progress files and
-- publishes them only when a checkpoint completes, so a crash never leaves a
-- half-written or doubled file visible (exactly-once).
CREATE TABLE lake_events (
  ${event_columns_nullable},
  produce_ts  TIMESTAMP_LTZ(3),
  is_late     BOOLEAN,   -- behind the watermark: in the lake, not in the stream metrics
  watermark_ts TIMESTAMP(3),  -- the source watermark when the event was read
  event_date  STRING
) PARTITIONED BY (event_date) WITH (
  'connector' = 'filesystem',
  'path' = '${lake_events_uri}',
  'format' = 'parquet',
  'sink.rolling-policy.rollover-interval' = '10 min',
  'sink.rolling-policy.check-interval' = '1 min'
);
