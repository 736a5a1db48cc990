{#-
  Item dimension for the marts (story 1: one of the 8 contracted tables).
  Current state, one row per item. Unlike staging.stg_items it is a table
  with a contract, so report consumers (the Sales daily report) read a
  stable, versioned shape instead of a staging view, and an item without a
  category is kept under 'uncategorized' (a report must not drop engagement
  because the app team left a field empty).
-#}
with items as (
    select * from {{ ref('stg_items') }}
),

final as (
    select
        item_id,
        coalesce(category, 'uncategorized') as category,
        category is not null as is_categorized,
        created_at
    from items
)

select * from final
