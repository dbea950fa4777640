{{ config(materialized='ephemeral') }}
-- Every version of every cart in bronze (one row per cart and batch), typed. The current-cart views pick
-- one version per cart from it; incremental models first keep the versions loaded since their last run,
-- a filter PostgreSQL applies to the bronze scan itself.
with

source as (

    select * from {{ source('fakestore', 'carts') }}

),

typed as (

    select
        (payload ->> 'id')::integer as cart_id,
        (payload ->> 'userId')::integer as user_id,
        {{ parse_utc_timestamp("payload ->> 'date'") }} as cart_at,
        payload -> 'products' as products,
        batch_id,
        record_no,
        interval_start,
        extracted_at,
        loaded_at
    from source

),

final as (

    select
        cart_id,
        user_id,
        cart_at,
        (cart_at at time zone 'UTC')::date as cart_date,
        products,
        batch_id,
        record_no,
        interval_start,
        extracted_at,
        loaded_at
    from typed

)

select * from final
