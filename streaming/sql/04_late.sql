-- Events behind the watermark: counted and kept, never silently dropped.
-- The whole event is kept, so a backfill can replay it into its window.
CREATE TABLE late_events (
  ${event_columns},
  produce_ts    TIMESTAMP_LTZ(3),
  watermark_ts  TIMESTAMP(3),
  behind_ms     BIGINT
) WITH (
  'connector' = 'kafka',
  'topic' = '${late_topic}',
  'properties.bootstrap.servers' = '${bootstrap}',
  'format' = 'json',
  'json.timestamp-format.standard' = 'ISO-8601',
  ${sink_guarantee}
  'sink.transactional-id-prefix' = '${txn_prefix}-late',
  'properties.transaction.timeout.ms' = '900000'
);
