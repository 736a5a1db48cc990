{#- User dimension (current state): one row per user. -#}
with source as (
    select * from {{ source('lake', 'users') }}
),

final as (
    select
        cast(user_id as varchar) as user_id,
        cast(country as varchar) as country,
        timezone('UTC', signup_at) as signed_up_at,
        cast(home_platform as varchar) as home_platform
    from source
)

select * from final
