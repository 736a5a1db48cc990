{#-
  Daily item rankings, the table the ranking API and dashboard read.
  Built as marts.rankings_blue or marts.rankings_green (var target_color);
  each color is its own incremental table with its own state.

  Grain: one row per (ranking_date, item_id) for every item with engagement
  in the ranking_window_days days ending on ranking_date.

  Incremental: delete+insert by ranking_date (a re-ranked date is replaced
  whole, so ranks within a date stay consistent). Dates re-ranked:
  - every date whose window holds an event date with rows ingested after
    this table's newest source_max_ingested_at (minus lookback_minutes): a
    late event for date D re-ranks D .. D + ranking_window_days - 1;
  - dates of the horizon missing from this table (first build of a color,
    catch-up of the idle color, a wider backfill_days);
  bounded to the last backfill_days dates up to as_of_date (or the newest).

  Scoring (README.md "Scoring"):
    prior_ctr     = sum(clicks) / sum(impressions) over all items, same window
    smoothed_ctr  = (clicks + alpha * prior_ctr) / (impressions + alpha)
    recency_hours = hours from the item's last event to the end of ranking_date
    decay_factor  = 0.5 ^ (recency_hours / decay_half_life_hours)
    score         = smoothed_ctr * decay_factor
-#}
{{ config(
    alias=rankings_alias(),
    unique_key='ranking_date',
    incremental_strategy='delete+insert',
) }}
{%- do assert_deferred_features_disabled() -%}
{%- set window_days = var('ranking_window_days') | int -%}
{%- set backfill_days = var('backfill_days') | int -%}
{%- if window_days < 1 or backfill_days < 1 -%}
    {{ exceptions.raise_compiler_error("ranking_window_days and backfill_days must be >= 1") }}
{%- endif -%}

with daily as (
    select * from {{ ref('int_item_engagement_daily') }}
),

items as (
    select * from {{ ref('stg_items') }}
),

horizon as (
    select
        newest_date - {{ backfill_days - 1 }} as min_ranking_date,
        newest_date as max_ranking_date
    from (
        select
            {% if var('as_of_date', none) -%}
            date '{{ var("as_of_date") }}'
            {%- else -%}
            max(event_date)
            {%- endif %} as newest_date
        from daily
    )
),

candidate_dates as (
    select distinct daily.event_date as ranking_date
    from daily
    cross join horizon
    where daily.event_date between horizon.min_ranking_date and horizon.max_ranking_date
),

{% if is_incremental() %}
watermark as (
    select max(source_max_ingested_at) - to_minutes({{ var('lookback_minutes') | int }}) as ingested_after
    from {{ this }}
),

touched_event_dates as (
    select distinct daily.event_date
    from daily
    cross join watermark
    where daily.max_ingested_at > watermark.ingested_after
),

already_ranked as (
    select distinct ranking_date from {{ this }}
),

dates_to_rank as (
    select candidate_dates.ranking_date
    from candidate_dates
    where
        exists (
            select 1
            from touched_event_dates
            where candidate_dates.ranking_date
                between touched_event_dates.event_date
                and touched_event_dates.event_date + {{ window_days - 1 }}
        )
        or candidate_dates.ranking_date not in (select ranking_date from already_ranked)
),

{% else %}
dates_to_rank as (
    select ranking_date from candidate_dates
),

{% endif %}
windowed as (
    select
        dates_to_rank.ranking_date,
        daily.item_id,
        cast(sum(daily.impressions) as bigint) as impressions,
        cast(sum(daily.clicks) as bigint) as clicks,
        cast(sum(daily.likes) as bigint) as likes,
        cast(sum(daily.shares) as bigint) as shares,
        max(daily.last_event_at) as last_event_at,
        max(daily.max_ingested_at) as source_max_ingested_at
    from dates_to_rank
    inner join daily
        on daily.event_date
        between dates_to_rank.ranking_date - {{ window_days - 1 }} and dates_to_rank.ranking_date
    group by dates_to_rank.ranking_date, daily.item_id
),

priors as (
    select
        ranking_date,
        coalesce(cast(sum(clicks) as double) / nullif(sum(impressions), 0), 0.0) as prior_ctr
    from windowed
    group by ranking_date
),

features as (
    select
        windowed.*,
        items.category,
        priors.prior_ctr,
        cast(windowed.ranking_date + 1 as timestamp) as as_of_at,
        (epoch_ms(cast(windowed.ranking_date + 1 as timestamp)) - epoch_ms(windowed.last_event_at))
            / 3600000.0e0 as recency_hours,
        {{ smoothed_ctr('windowed.clicks', 'windowed.impressions', 'priors.prior_ctr',
                        var('ctr_prior_impressions')) }} as smoothed_ctr
    from windowed
    inner join priors on windowed.ranking_date = priors.ranking_date
    -- left join: an item missing from the dimension keeps its row with a
    -- null category, so the relationships and null-ratio tests stop the
    -- build instead of the item silently dropping out of the ranking
    left join items on windowed.item_id = items.item_id
),

decayed as (
    select
        *,
        {{ recency_decay('recency_hours', var('decay_half_life_hours')) }} as decay_factor
    from features
),

scored as (
    select
        *,
        smoothed_ctr * decay_factor as score
    from decayed
),

final as (
    select
        ranking_date,
        item_id,
        category,
        row_number() over (
            partition by ranking_date order by score desc, item_id
        ) as rank_overall,
        row_number() over (
            partition by ranking_date, category order by score desc, item_id
        ) as rank_in_category,
        score,
        smoothed_ctr,
        prior_ctr,
        recency_hours,
        decay_factor,
        impressions,
        clicks,
        likes,
        shares,
        last_event_at,
        as_of_at,
        source_max_ingested_at,
        '{{ invocation_id }}' as dbt_invocation_id
    from scored
)

select * from final
