-- Ranks are 1..n with no gap or tie, overall and within each category, so
-- the API's "top N" is exactly N rows.
with overall as (
    select ranking_date, null as category, count(*) as n_rows,
           count(distinct rank_overall) as n_ranks, min(rank_overall) as min_rank,
           max(rank_overall) as max_rank
    from {{ ref('rankings') }}
    group by ranking_date
),

per_category as (
    select ranking_date, category, count(*) as n_rows,
           count(distinct rank_in_category) as n_ranks, min(rank_in_category) as min_rank,
           max(rank_in_category) as max_rank
    from {{ ref('rankings') }}
    group by ranking_date, category
)

select * from (select * from overall union all select * from per_category)
where n_ranks <> n_rows or min_rank <> 1 or max_rank <> n_rows
