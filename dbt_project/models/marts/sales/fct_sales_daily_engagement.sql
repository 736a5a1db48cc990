{#-
  The Sales daily report's table (story 1: "missed daily reports for Sales"
  is the breakage the contracts prevent). One row per UTC event date and
  item category: how many items were engaged and how, with the click-through
  rate. Rebuilt whole from int_item_engagement_daily, which holds the event
  dates of the rankings horizon (backfill_days + ranking_window_days - 1 on a
  full build, growing with incremental runs), so the report covers the same
  dates the rankings do.

  ctr = clicks / impressions of the category-day; null when there were no
  impressions (a share of nothing is unknown, not 0).
-#}
with daily as (
    select * from {{ ref('int_item_engagement_daily') }}
),

items as (
    select * from {{ ref('dim_items') }}
),

categorized as (
    select
        daily.*,
        -- left join: an item missing from the dimension still counts (the
        -- relationships test on int_item_engagement_daily stops the build
        -- before that can reach the report)
        coalesce(items.category, 'uncategorized') as category
    from daily
    left join items on daily.item_id = items.item_id
),

final as (
    select
        event_date,
        category,
        count(distinct item_id) as engaged_items,
        cast(sum(events) as bigint) as events,
        cast(sum(impressions) as bigint) as impressions,
        cast(sum(clicks) as bigint) as clicks,
        cast(sum(likes) as bigint) as likes,
        cast(sum(shares) as bigint) as shares,
        cast(sum(clicks) as double) / nullif(sum(impressions), 0) as ctr
    from categorized
    group by event_date, category
)

select * from final
