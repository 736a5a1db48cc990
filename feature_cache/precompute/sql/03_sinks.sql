-- Feature versions, exactly-once, to the compacted topic ${features_topic}.
--
-- Key: (user_id, feature_group). Compaction keeps the newest record per
-- key; keyed by user_id alone, a user's realtime update would erase the
-- newest activity and profile versions from the compacted log.
-- Value: JSON with the group's values in the column named after the group
-- (the other groups' columns are null and left out), event_ts (the newest
-- contributing event's time: the values hold as of it), source_ts (when
-- that event entered Kafka) and emit_ts (when Flink computed the row).
-- Transactions commit at each checkpoint; readers use read_committed.
CREATE TABLE feature_versions (
  user_id        STRING NOT NULL,
  feature_group  STRING NOT NULL,
  activity ROW<events_5m BIGINT, clicks_5m BIGINT, events_1h BIGINT, clicks_1h BIGINT,
               impressions_1h BIGINT, ctr_1h DOUBLE, last_item_id STRING>,
  realtime ROW<events_60s BIGINT, session_id STRING, session_events BIGINT, session_clicks BIGINT>,
  profile  ROW<preferred_platform STRING, platforms_24h BIGINT>,
  event_ts   TIMESTAMP(3) NOT NULL,
  source_ts  TIMESTAMP_LTZ(3),
  emit_ts    TIMESTAMP_LTZ(3) NOT NULL,
  PRIMARY KEY (user_id, feature_group) NOT ENFORCED
) WITH (
  'connector' = 'upsert-kafka',
  'topic' = '${features_topic}',
  'properties.bootstrap.servers' = '${bootstrap}',
  'key.format' = 'json',
  'value.format' = 'json',
  'value.json.timestamp-format.standard' = 'ISO-8601',
  'value.json.encode.ignore-null-fields' = 'true',
  ${sink_guarantee}
  'sink.transactional-id-prefix' = '${txn_prefix}-features',
  -- No write buffer: it would keep only the newest row per key per flush,
  -- and the offline history must see every version.
  -- Must not exceed the broker's transaction.max.timeout.ms (15 min).
  'properties.transaction.timeout.ms' = '900000'
);

-- Events behind the watermark: left out of the windows, so counted and kept
-- here whole (a backfill could replay them), as story 3's job does.
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
