-- Each staged order is the version with the order's latest updated_at in bronze, and comes from a batch
-- that holds the order; every order in bronze is staged.
with

bronze_orders as (

    select
        (payload ->> 'order_id')::integer as order_id,
        {{ parse_utc_timestamp("payload ->> 'updated_at'") }} as updated_at,
        batch_id
    from {{ source('orders', 'orders') }}

),

staged_orders as (

    select * from {{ ref('stg_orders__orders_latest') }}

),

latest_versions as (

    select
        order_id,
        max(updated_at) as latest_updated_at
    from bronze_orders
    group by order_id

)

select
    coalesce(latest_versions.order_id, staged_orders.order_id) as order_id,
    latest_versions.latest_updated_at,
    staged_orders.updated_at as staged_updated_at,
    staged_orders.batch_id as staged_batch_id
from latest_versions
full outer join staged_orders
    on latest_versions.order_id = staged_orders.order_id
left join bronze_orders
    on
        staged_orders.order_id = bronze_orders.order_id
        and staged_orders.batch_id = bronze_orders.batch_id
        and staged_orders.updated_at = bronze_orders.updated_at
where
    latest_versions.order_id is null
    or staged_orders.order_id is null
    or staged_orders.updated_at != latest_versions.latest_updated_at
    or bronze_orders.order_id is null
