with

source as (

    {{ latest_batch_records(source('fakestore', 'carts'), "(payload ->> 'id')::integer") }}

),

renamed as (

    select
        (payload ->> 'id')::integer as cart_id,
        (payload ->> 'userId')::integer as user_id,
        {{ parse_utc_timestamp("payload ->> 'date'") }} as cart_at,
        batch_id,
        interval_start as observed_at
    from source

),

final as (

    select
        cart_id,
        user_id,
        cart_at,
        (cart_at at time zone 'UTC')::date as cart_date,
        batch_id,
        observed_at
    from renamed

)

select * from final
