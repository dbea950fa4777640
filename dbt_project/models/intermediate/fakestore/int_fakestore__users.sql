-- The current version of each user: its record in the latest batch (same rule as int_fakestore__products).
-- The snapshot snp_fakestore__users records its history.
with

latest as (

    {{ latest_versions(ref('stg_fakestore__users'), 'user_id', bronze_recency_columns()) }}

),

final as (

    select
        user_id,
        email,
        username,
        first_name,
        last_name,
        phone,
        city,
        street,
        street_number,
        zipcode,
        latitude,
        longitude,
        batch_id,
        interval_start as observed_at,
        loaded_at
    from latest

)

select * from final
