-- Engagement events from Kafka, Avro through the schema registry: the same
-- source as story 3's job (streaming/sql/01_source.sql), with this job's own
-- watermark. The event's columns and reader schema are generated from the
-- Avro contract (starlab/flink/ddl.py).
--
-- Watermark: ${watermark_delay_hms} (h:mm:ss) behind the newest event time, not story 3's
-- 10 minutes. The sliding windows of 02_features.sql emit a user's row once
-- the watermark passes it, so this delay is the floor of every feature's
-- freshness: with 10 minutes, "clicks in the last 5 minutes" would reach
-- Redis at least 10 minutes old. The edge delivers on-time events within
-- 3 s, so 5 s keeps them all; an event further out of order is left out of
-- the features and written to the late topic (03_sinks.sql), counted, not
-- silently dropped. Story 3's metrics still count it (their lateness is 10 min).
CREATE TABLE events (
  ${event_columns},
  produce_ts  TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,
  proc_time   AS PROCTIME(),
  WATERMARK FOR event_ts AS event_ts - INTERVAL '${watermark_delay_hms}' HOUR TO SECOND
) WITH (
  'connector' = 'kafka',
  'topic' = '${events_topic}',
  'properties.bootstrap.servers' = '${bootstrap}',
  'properties.group.id' = '${group_id}',
  -- Only committed input: a replay tool writing in transactions must not
  -- leak aborted records into features.
  'properties.isolation.level' = 'read_committed',
  'scan.startup.mode' = '${startup_mode}',
  ${bounded_option}
  -- A watermark per event instead of every 200 ms: a feature row waits for
  -- the next event's watermark, not for the next periodic tick as well.
  'scan.watermark.emit.strategy' = 'on-event',
  'value.format' = 'avro-confluent',
  'value.avro-confluent.url' = '${registry_url}',
  -- The writer schema as the reader schema, so enums read as STRING.
  'value.avro-confluent.schema' = '${avro_schema}'
);

-- Lateness is decided right after the source, where the watermark is the
-- source's own (emitted per event), as in story 3's job.
CREATE TEMPORARY VIEW classified AS
SELECT *,
       CURRENT_WATERMARK(event_ts) IS NOT NULL
         AND event_ts < CURRENT_WATERMARK(event_ts) AS is_late,
       CAST(CURRENT_WATERMARK(event_ts) AS TIMESTAMP(3)) AS watermark_ts
FROM events;

-- Keep-first dedup on event_id: a client retry (same event_id) is counted
-- once. ROW_NUMBER over processing time with rn = 1 becomes Flink's
-- append-only Deduplicate operator, which keeps event_time a time attribute
-- for the windows below. Its state per event_id lives table.exec.state.ttl.
CREATE TEMPORARY VIEW deduped AS
SELECT ${event_names}, produce_ts, is_late, watermark_ts
FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY proc_time ASC) AS rn
  FROM classified
)
WHERE rn = 1;
