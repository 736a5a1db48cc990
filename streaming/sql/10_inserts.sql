-- One statement set: one source read, one dedup operator, three sinks.
-- Every branch reads every column of `deduped`: if the branches projected
-- different columns, the planner would build one Deduplicate per branch
-- (three copies of the dedup state) instead of sharing one.
INSERT INTO item_metrics_1m
SELECT
  item_id,
  FLOOR(event_ts TO MINUTE) AS window_start,
  FLOOR(event_ts TO MINUTE) + INTERVAL '1' MINUTE AS window_end,
  COUNT(*) AS events,
  SUM(CASE WHEN event_type = 'impression' THEN 1 ELSE 0 END) AS impressions,
  SUM(CASE WHEN event_type = 'click' THEN 1 ELSE 0 END) AS clicks,
  SUM(CASE WHEN event_type = 'like' THEN 1 ELSE 0 END) AS likes,
  SUM(CASE WHEN event_type = 'share' THEN 1 ELSE 0 END) AS shares,
  COUNT(DISTINCT user_id) AS users,
  COUNT(DISTINCT session_id) AS sessions,
  SUM(CASE WHEN platform <> 'web' THEN 1 ELSE 0 END) AS mobile_events,
  SUM(CAST(dwell_ms AS BIGINT)) AS dwell_ms_total,
  MAX(event_ts) AS max_event_ts,
  MAX(ingest_ts) AS max_ingest_ts,
  MAX(produce_ts) AS max_produce_ts,
  MAX(watermark_ts) AS max_watermark_ts
FROM on_time
GROUP BY item_id, FLOOR(event_ts TO MINUTE);

-- The column list names what this job writes: a column added to the table
-- later (schema evolution) is left null by this job until it selects it.
INSERT INTO ${lake_table} (${event_names}, produce_ts, is_late, watermark_ts, event_date)
SELECT ${event_names}, produce_ts, is_late, watermark_ts,
       CAST(event_ts AS DATE)
FROM deduped;

INSERT INTO late_events
SELECT ${event_names}, produce_ts, watermark_ts,
       TIMESTAMPDIFF(SECOND, event_ts, watermark_ts) * 1000
FROM deduped
WHERE is_late;
