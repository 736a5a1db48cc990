{#-
  Engagement per item per UTC event date, from the deduplicated events.
  Incremental, delete+insert by event_date: a re-processed date is replaced
  whole (its rows are recomputed from every event of that date, late ones
  included), never patched. Which dates: macros/incremental.sql.
-#}
{{ config(
    unique_key='event_date',
    incremental_strategy='delete+insert',
) }}

with events as (
    select * from {{ ref('stg_events') }}
    where {{ engagement_dates_filter() }}
),

daily as (
    select
        event_date,
        item_id,
        count(*) filter (where event_type = 'impression') as impressions,
        count(*) filter (where event_type = 'click') as clicks,
        count(*) filter (where event_type = 'like') as likes,
        count(*) filter (where event_type = 'share') as shares,
        count(*) as events,
        count(*) filter (where is_late_arrival) as late_events,
        max(event_at) as last_event_at,
        max(latest_copy_ingested_at) as max_ingested_at
    from events
    group by event_date, item_id
),

final as (
    select * from daily
)

select * from final
