-- Current state of each order (latest updated_at), rebuilt on every run.
with

orders as (

    select * from {{ ref('stg_orders__orders_latest') }}

),

final as (

    select
        order_id,
        customer_id,
        status,
        amount,
        currency,
        created_at,
        (created_at at time zone 'UTC')::date as created_date,
        updated_at,
        status in ('delivered', 'cancelled') as is_closed
    from orders

)

select * from final
