-- The current version of each product: its record in the latest batch (interval_start, then extracted_at,
-- batch_id and record_no, all descending). The snapshot snp_fakestore__products records its history.
with

latest as (

    {{ latest_versions(ref('stg_fakestore__products'), 'product_id', bronze_recency_columns()) }}

),

final as (

    select
        product_id,
        title,
        description,
        category,
        price,
        image_url,
        rating_rate,
        rating_count,
        batch_id,
        interval_start as observed_at,
        loaded_at
    from latest

)

select * from final
