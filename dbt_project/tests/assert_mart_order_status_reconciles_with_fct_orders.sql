-- Per currency, mart_order_status adds up to fct_orders (orders and amounts), and the shares add up to 1
-- overall and within each currency, up to their rounding to 6 decimals.
with

order_status as (

    select * from {{ ref('mart_order_status') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

mart_totals as (

    select
        currency,
        sum(orders) as orders,
        sum(total_amount) as total_amount,
        sum(share_of_currency_orders) as share_of_currency_orders,
        count(*) as statuses
    from order_status
    group by currency

),

fact_totals as (

    select
        currency,
        count(*) as orders,
        sum(amount) as total_amount
    from orders
    group by currency

),

overall_share as (

    select
        coalesce(sum(share_of_orders), 1) as share_of_orders,
        count(*) as cells
    from order_status

)

select
    coalesce(mart_totals.currency, fact_totals.currency) as currency,
    mart_totals.orders as mart_orders,
    fact_totals.orders as fact_orders,
    mart_totals.total_amount as mart_total_amount,
    fact_totals.total_amount as fact_total_amount,
    mart_totals.share_of_currency_orders,
    null::numeric as share_of_orders
from mart_totals
full outer join fact_totals
    on mart_totals.currency = fact_totals.currency
where
    mart_totals.currency is null
    or fact_totals.currency is null
    or mart_totals.orders != fact_totals.orders
    or mart_totals.total_amount != fact_totals.total_amount
    or abs(mart_totals.share_of_currency_orders - 1) > 0.000001 * mart_totals.statuses

union all

select
    null as currency,
    null as mart_orders,
    null as fact_orders,
    null as mart_total_amount,
    null as fact_total_amount,
    null as share_of_currency_orders,
    share_of_orders
from overall_share
where abs(share_of_orders - 1) > 0.000001 * cells
