with

latest as (

    {{ latest_versions(ref('stg_fakestore__cart_versions'), 'cart_id', bronze_recency_columns()) }}

),

final as (

    select
        cart_id,
        user_id,
        cart_at,
        cart_date,
        batch_id,
        interval_start as observed_at
    from latest

)

select * from final
