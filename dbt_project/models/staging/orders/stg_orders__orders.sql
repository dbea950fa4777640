-- One row per order record in bronze, i.e. per order and batch (every batch re-sends every order), typed.
-- Which version is current is decided downstream (int_orders__orders).
with

source as (

    select * from {{ source('orders', 'orders') }}

),

renamed as (

    select
        (payload ->> 'order_id')::integer as order_id,
        (payload ->> 'customer_id')::integer as customer_id,
        lower(trim(payload ->> 'status')) as status,
        (payload ->> 'amount')::numeric(12, 2) as amount,
        upper(trim(payload ->> 'currency')) as currency,
        {{ parse_utc_timestamp("payload ->> 'created_at'") }} as created_at,
        {{ parse_utc_timestamp("payload ->> 'updated_at'") }} as updated_at,
        {{ bronze_lineage_columns() }}
    from source

)

select * from renamed
