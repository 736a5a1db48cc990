{#-
  Which event dates int_item_engagement_daily (re)computes in this run,
  returned as a SQL predicate on event_date with literal dates, so DuckDB
  prunes the lake's event_date=... partitions (a predicate with a subquery
  would scan every file).

  - horizon: event dates >= newest - (backfill_days + ranking_window_days - 2),
    where newest is var as_of_date or the newest event date in the lake: the
    rankings of the last backfill_days dates need ranking_window_days - 1
    days of history before the oldest of them;
  - full build (first build, --full-refresh): every date in the horizon;
  - incremental: the dates touched by lake rows ingested after the newest
    ingest time already in the table (minus lookback_minutes), plus horizon
    dates missing from the table (a widened backfill_days, a gap).
-#}
{% macro engagement_dates_filter(column='event_date') -%}
    {%- if not execute -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set lake = source('lake', 'events') -%}
    {%- set history_days = (var('backfill_days') | int) + (var('ranking_window_days') | int) - 2 -%}

    {%- if var('as_of_date', none) -%}
        {%- set newest = "date '" ~ var('as_of_date') ~ "'" -%}
    {%- else -%}
        {%- set row = run_query("select cast(max(event_date) as varchar) from " ~ lake).rows[0] -%}
        {%- if row[0] is none -%}
            {{ return('false') }}
        {%- endif -%}
        {%- set newest = "date '" ~ row[0] ~ "'" -%}
    {%- endif -%}
    {%- set oldest_sql = "cast(" ~ newest ~ " - " ~ history_days ~ " as varchar)" -%}
    {%- set oldest = run_query("select " ~ oldest_sql).rows[0][0] -%}

    {%- if not is_incremental() -%}
        {{ log(this.identifier ~ ": full build of event dates >= " ~ oldest, info=true) }}
        {{ return(column ~ " >= date '" ~ oldest ~ "'") }}
    {%- endif -%}

    {%- set wm = run_query(
        "select cast(max(max_ingested_at) - to_minutes(" ~ (var('lookback_minutes') | int) ~ ") as varchar) from " ~ this
    ).rows[0][0] -%}
    {%- set touched_sql -%}
        {%- if wm is not none %}
        select distinct event_date from {{ lake }}
        where ingest_ts > cast('{{ wm }}+00:00' as timestamptz)
          and event_date >= date '{{ oldest }}'
        union
        {% endif -%}
        select distinct event_date from {{ lake }}
        where event_date >= date '{{ oldest }}'
          and event_date not in (select event_date from {{ this }})
        order by 1
    {%- endset -%}
    {%- set dates = run_query(touched_sql).columns[0].values() | map('string') | list -%}
    {{ log(this.identifier ~ ": re-processing " ~ dates | length ~ " event date(s) "
           ~ (dates | join(', ')) ~ " (ingested after " ~ wm ~ ")", info=true) }}
    {%- if dates | length == 0 -%}
        {{ return('false') }}
    {%- endif -%}
    {{ return(column ~ " in (" ~ ("date '" ~ dates | join("', date '") ~ "'") ~ ")") }}
{%- endmacro %}
