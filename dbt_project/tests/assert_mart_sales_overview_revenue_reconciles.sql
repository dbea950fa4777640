-- Total revenue of mart_sales_overview equals the total line_revenue of fct_cart_items.
with

mart_total as (

    select coalesce(sum(revenue), 0) as revenue
    from {{ ref('mart_sales_overview') }}

),

fact_total as (

    select coalesce(sum(line_revenue), 0) as revenue
    from {{ ref('fct_cart_items') }}

)

select
    mart_total.revenue as mart_revenue,
    fact_total.revenue as fact_revenue
from mart_total
cross join fact_total
where mart_total.revenue != fact_total.revenue
