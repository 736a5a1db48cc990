{#-
  Story 3's batch side: the same 1-minute engagement metrics per item that
  the Flink job computes, recomputed from the lake (deduplicated events,
  late ones included). `starlab stream reconcile` compares this table with
  the stream's output window by window; `starlab stream backfill` repairs
  the stream's windows from it. A full table, not incremental: it is rebuilt
  for each reconciliation, and a scan of the lake is cheap next to the
  drift it finds.
-#}
with events as (
    select * from {{ ref('stg_events') }}
),

final as (
    select
        item_id,
        date_trunc('minute', event_at) as window_start,
        date_trunc('minute', event_at) + interval 1 minute as window_end,
        count(*) as events,
        count(*) filter (where event_type = 'impression') as impressions,
        count(*) filter (where event_type = 'click') as clicks,
        count(*) filter (where event_type = 'like') as likes,
        count(*) filter (where event_type = 'share') as shares,
        count(distinct user_id) as users,
        count(*) filter (where is_late_arrival) as late_events,
        max(event_at) as max_event_at,
        max(ingested_at) as max_ingested_at
    from events
    group by 1, 2, 3
)

select * from final
