with

latest as (

    {{ latest_versions(ref('stg_fakestore__cart_versions'), 'cart_id', bronze_recency_columns()) }}

),

cart_lines as (

    {{ cart_lines('latest', cart_columns=['batch_id', 'interval_start']) }}

),

final as (

    select
        cart_id,
        line_no,
        product_id,
        quantity,
        batch_id,
        interval_start as observed_at
    from cart_lines

)

select * from final
