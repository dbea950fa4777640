-- One row per cart record in bronze, i.e. per cart and batch (carts are landed per data interval, plus the
-- whole history on a first load, so a cart can be in several batches), typed. Which version is current is
-- decided downstream (int_fakestore__carts); a filter on loaded_at reaches the bronze scan through this view.
with

source as (

    select * from {{ source('fakestore', 'carts') }}

),

renamed as (

    select
        (payload ->> 'id')::integer as cart_id,
        (payload ->> 'userId')::integer as user_id,
        {{ parse_utc_timestamp("payload ->> 'date'") }} as cart_at,
        payload -> 'products' as products,
        {{ bronze_lineage_columns() }}
    from source

),

final as (

    select
        cart_id,
        user_id,
        cart_at,
        (cart_at at time zone 'UTC')::date as cart_date,
        products,
        {{ bronze_lineage_columns() }}
    from renamed

)

select * from final
