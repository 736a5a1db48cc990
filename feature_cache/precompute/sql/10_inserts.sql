-- One pass over the feature rows emits up to three versions per event:
-- UNNEST of a per-row array names the groups to emit (activity and
-- realtime always, profile only when it changed). A constant array would be
-- planned as a join with a single-task exchange; one that reads the row
-- stays a stateless correlate, and one SELECT keeps one chain of windows
-- (separate INSERTs projecting different columns could make the planner
-- build the chain once per INSERT).
INSERT INTO feature_versions
SELECT
  user_id,
  feature_group,
  CASE WHEN feature_group = 'activity' THEN ROW(
    CAST(events_5m AS BIGINT), CAST(clicks_5m AS BIGINT), CAST(events_1h AS BIGINT),
    CAST(clicks_1h AS BIGINT), CAST(impressions_1h AS BIGINT),
    CAST(clicks_1h AS DOUBLE) / NULLIF(CAST(impressions_1h AS DOUBLE), 0),
    item_id) END,
  CASE WHEN feature_group = 'realtime' THEN ROW(
    CAST(events_60s AS BIGINT), session_id, CAST(session_events AS BIGINT),
    CAST(session_clicks AS BIGINT)) END,
  CASE WHEN feature_group = 'profile' THEN ROW(
    preferred_platform, CAST(platforms_24h AS BIGINT)) END,
  event_ts,
  produce_ts,
  CURRENT_TIMESTAMP
FROM user_features
CROSS JOIN UNNEST(ARRAY[
  'activity',
  'realtime',
  CASE WHEN previous_profile IS NULL
         OR previous_profile <> preferred_platform || '/' || CAST(platforms_24h AS STRING)
       THEN 'profile' END
]) AS g (feature_group)
WHERE feature_group IS NOT NULL;

-- Every column of `deduped`, like the feature branch: one shared Deduplicate.
INSERT INTO late_events
SELECT ${event_names}, produce_ts, watermark_ts,
       TIMESTAMPDIFF(SECOND, event_ts, watermark_ts) * 1000
FROM deduped
WHERE is_late;
