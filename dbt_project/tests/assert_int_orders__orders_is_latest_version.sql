-- Each current order is the version with the order's latest updated_at in bronze, and comes from a batch
-- that holds the order; every order in bronze has a current version. Among the versions int_orders__orders
-- could see: a batch loaded after its newest version (a run of another interval, going on at the same time)
-- is for its next build.
with

current_orders as (

    select * from {{ ref('int_orders__orders') }}

),

newest_seen as (

    select max(loaded_at) as loaded_at
    from current_orders

),

order_versions as (

    select stg.*
    from {{ ref('stg_orders__orders') }} as stg
    inner join newest_seen
        on stg.loaded_at <= coalesce(newest_seen.loaded_at, 'infinity'::timestamptz)

),

latest_versions as (

    select
        order_id,
        max(updated_at) as latest_updated_at
    from order_versions
    group by order_id

)

select
    coalesce(latest_versions.order_id, current_orders.order_id) as order_id,
    latest_versions.latest_updated_at,
    current_orders.updated_at as current_updated_at,
    current_orders.batch_id as current_batch_id
from latest_versions
full outer join current_orders
    on latest_versions.order_id = current_orders.order_id
left join order_versions
    on
        current_orders.order_id = order_versions.order_id
        and current_orders.batch_id = order_versions.batch_id
        and current_orders.updated_at = order_versions.updated_at
where
    latest_versions.order_id is null
    or current_orders.order_id is null
    or current_orders.updated_at != latest_versions.latest_updated_at
    or order_versions.order_id is null
