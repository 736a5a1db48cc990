{#-
  Null-ratio threshold for a column that may legitimately hold a few nulls
  (null_ratio = nulls / rows, over the rows the test's `where` keeps).
  Returns one row with the measured ratio when it is above max_ratio.
-#}
{% test null_ratio_below(model, column_name, max_ratio) %}
with stats as (
    select
        count(*) as total_rows,
        count(*) - count({{ column_name }}) as null_rows
    from {{ model }}
)

select
    total_rows,
    null_rows,
    cast(null_rows as double) / total_rows as null_ratio,
    {{ max_ratio }} as max_null_ratio
from stats
where total_rows > 0
  and cast(null_rows as double) / total_rows > {{ max_ratio }}
{% endtest %}
