-- Engagement events from Kafka, Avro through the schema registry.
-- The watermark trails the newest event time by the allowed lateness, so an
-- event up to ${lateness_hms} (h:mm:ss) out of order still counts in its minute; one
-- further behind is "late" and goes to the late-events topic (04_late.sql).
-- The event's columns are generated from the Avro contract (streaming/ddl.py).
CREATE TABLE events (
  ${event_columns},
  produce_ts  TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,
  proc_time   AS PROCTIME(),
  WATERMARK FOR event_ts AS event_ts - INTERVAL '${lateness_hms}' HOUR TO SECOND
) WITH (
  'connector' = 'kafka',
  'topic' = '${events_topic}',
  'properties.bootstrap.servers' = '${bootstrap}',
  'properties.group.id' = '${group_id}',
  -- Only committed input: the producer is idempotent, not transactional,
  -- but a replay tool writing in transactions must not leak aborted data.
  'properties.isolation.level' = 'read_committed',
  'scan.startup.mode' = '${startup_mode}',
  ${bounded_option}
  -- A watermark per event instead of every 200 ms: after a restore the
  -- watermark is rebuilt from the first replayed records at once.
  'scan.watermark.emit.strategy' = 'on-event',
  'value.format' = 'avro-confluent',
  'value.avro-confluent.url' = '${registry_url}',
  -- The writer schema as the reader schema, so enums read as STRING.
  'value.avro-confluent.schema' = '${avro_schema}'
);

-- Lateness is decided right after the source, where the watermark is the
-- source subtask's own (emitted per event). Past the hash exchange of the
-- dedup, the watermark would be the minimum over all source subtasks, which
-- after a restore (watermarks are not checkpointed) stays unset until every
-- subtask has read a record, and late events read meanwhile would pass.
CREATE TEMPORARY VIEW classified AS
SELECT *,
       CURRENT_WATERMARK(event_ts) IS NOT NULL
         AND event_ts < CURRENT_WATERMARK(event_ts) AS is_late,
       CAST(CURRENT_WATERMARK(event_ts) AS TIMESTAMP(3)) AS watermark_ts
FROM events;

-- Keep-first dedup on event_id: ROW_NUMBER over processing time with rn = 1
-- becomes Flink's append-only Deduplicate operator (no retractions). Its
-- state per event_id is bounded by table.exec.state.ttl (see flink_job.py).
CREATE TEMPORARY VIEW deduped AS
SELECT ${event_names}, produce_ts, is_late, watermark_ts
FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY proc_time ASC) AS rn
  FROM classified
)
WHERE rn = 1;
