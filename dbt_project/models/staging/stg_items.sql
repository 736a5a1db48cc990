{#- Item dimension (current state): one row per item. -#}
with source as (
    select * from {{ source('lake', 'items') }}
),

final as (
    select
        cast(item_id as varchar) as item_id,
        cast(category as varchar) as category,
        timezone('UTC', created_at) as created_at
    from source
)

select * from final
