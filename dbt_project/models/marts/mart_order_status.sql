-- Current orders per status and currency. Amounts are only added up within a currency; shares count orders.
with

orders as (

    select * from {{ ref('fct_orders') }}

),

status_totals as (

    select
        status,
        currency,
        count(*) as orders,
        sum(amount) as total_amount
    from orders
    group by status, currency

),

final as (

    select
        status,
        currency,
        orders::bigint as orders,
        total_amount::numeric(14, 2) as total_amount,
        round(orders::numeric / sum(orders) over (), 6)::numeric(7, 6) as share_of_orders,
        round(orders::numeric / sum(orders) over (partition by currency), 6)::numeric(7, 6)
            as share_of_currency_orders
    from status_totals

)

select * from final
