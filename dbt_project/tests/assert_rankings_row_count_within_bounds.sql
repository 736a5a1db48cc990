-- Row-count bounds of the rankings:
-- - the newest ranking date (the one the API serves) ranks at least
--   min_items_per_ranking_date items: fewer means lost input (a collapse);
--   older dates are not held to it, the lake's first day can be a sliver;
-- - no date ranks more items than the item dimension holds: more means a
--   fan-out in a join.
-- The publisher adds the relative bound (within x% of the previous build).
with per_date as (
    select ranking_date, count(*) as ranked_items
    from {{ ref('rankings') }}
    group by ranking_date
),

bounds as (
    select
        (select max(ranking_date) from per_date) as newest_date,
        {{ var('min_items_per_ranking_date') }} as min_items,
        (select count(*) from {{ ref('stg_items') }}) as max_items
)

select per_date.*, bounds.min_items, bounds.max_items
from per_date
cross join bounds
where (per_date.ranking_date = bounds.newest_date and per_date.ranked_items < bounds.min_items)
   or per_date.ranked_items > bounds.max_items
