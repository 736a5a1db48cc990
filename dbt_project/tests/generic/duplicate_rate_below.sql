{#-
  Story 2's "<0.5% duplication" as a DQ gate check:
    duplicate_rate = 1 - count(distinct key) / count(*)
  (the story's formula sheet writes count(distinct id) / count(*), which is
  the unique ratio; this is its complement). Returns one row, the measured
  rate, when it is above max_rate; `unique` on the same key is the stricter
  check, this one puts the story's threshold and measured value on record.
-#}
{% test duplicate_rate_below(model, columns, max_rate=none) %}
{%- set max_rate = max_rate if max_rate is not none else var('max_duplicate_rate') -%}
with keys as (
    select {{ columns | join(', ') }} from {{ model }}
),

stats as (
    select
        (select count(*) from keys) as total_rows,
        (select count(*) from (select distinct {{ columns | join(', ') }} from keys)) as distinct_keys
)

select
    total_rows,
    distinct_keys,
    1.0 - cast(distinct_keys as double) / total_rows as duplicate_rate,
    {{ max_rate }} as max_duplicate_rate
from stats
where total_rows > 0
  and 1.0 - cast(distinct_keys as double) / total_rows > {{ max_rate }}
{% endtest %}
