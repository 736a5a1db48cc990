-- Duplication (and loss) in the published counts, per event date:
--   rate = |events counted in int_item_engagement_daily - distinct event_ids
--           in the lake| / distinct event_ids
-- must stay below max_duplicate_rate (story 2: < 0.5%). The staging dedup
-- makes it 0; a broken dedup shows the lake's retry rate (~2%).
-- Compared over the dates the intermediate table holds (its horizon).
with counted as (
    select event_date, sum(events) as counted_events
    from {{ ref('int_item_engagement_daily') }}
    group by event_date
),

lake as (
    select event_date, count(distinct event_id) as distinct_events
    from {{ source('lake', 'events') }}
    where event_date in (select event_date from counted)
    group by event_date
),

compared as (
    select
        counted.event_date,
        counted.counted_events,
        coalesce(lake.distinct_events, 0) as distinct_events,
        abs(counted.counted_events - coalesce(lake.distinct_events, 0))
            / greatest(coalesce(lake.distinct_events, 0), 1) as mismatch_rate
    from counted
    left join lake on counted.event_date = lake.event_date
)

select *
from compared
where mismatch_rate > {{ var('max_duplicate_rate') }}
