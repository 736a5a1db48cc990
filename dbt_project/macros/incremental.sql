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

  Both incremental questions are answered from the snapshot's file list
  (source lake.events_files: each data file's partition, which is its
  event_date, and the upper bound of its ingest_ts, from the Iceberg
  manifests), not from the rows: a date holds rows ingested after the
  watermark exactly when one of its files has an upper bound past it. The
  row scan this replaced read every ingest_ts of the horizon and cost 1.3 s
  at 10M events, more than the one new day's own build. A file without a
  bound counts as touched.
-#}
{% macro engagement_dates_filter(column='event_date') -%}
    {%- if not execute -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set lake = source('lake', 'events') -%}
    {%- set files = source('lake', 'events_files') -%}
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
        with file_dates as (
            select cast(partition_key as date) as event_date, max_ingest_ts, record_count
            from {{ files }}
        )
        {%- if wm is not none %}
        select event_date from file_dates
        where (max_ingest_ts is null or max_ingest_ts > cast('{{ wm }}+00:00' as timestamptz))
          and event_date >= date '{{ oldest }}'
        union
        {% endif -%}
        select event_date from file_dates
        where event_date >= date '{{ oldest }}'
          and record_count > 0
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
