-- Current attributes of each product with its sales over all its versions (revenue at the prices in force).
-- A table rebuilt on every run from the daily sales per product, which are kept incrementally: a few
-- thousand products times the days, where the lines are millions.
with

products as (

    select * from {{ ref('dim_products') }}

),

daily_sales as (

    select * from {{ ref('fct_product_sales_daily') }}

),

current_products as (

    select * from products
    where is_current

),

product_sales as (

    select
        product_id,
        sum(carts) as carts,
        sum(units) as units_sold,
        sum(revenue) as revenue,
        min(cart_date) as first_sold_date,
        max(cart_date) as last_sold_date
    from daily_sales
    group by product_id

),

joined as (

    select
        coalesce(current_products.product_id, product_sales.product_id) as product_id,
        current_products.title,
        current_products.category,
        current_products.price as current_price,
        coalesce(product_sales.carts, 0) as carts,
        coalesce(product_sales.units_sold, 0) as units_sold,
        coalesce(product_sales.revenue, 0) as revenue,
        product_sales.first_sold_date,
        product_sales.last_sold_date
    from current_products
    full outer join product_sales
        on current_products.product_id = product_sales.product_id

),

final as (

    select
        product_id,
        title,
        category,
        current_price::numeric(12, 2) as current_price,
        carts::bigint as carts,
        units_sold::bigint as units_sold,
        revenue::numeric(14, 2) as revenue,
        first_sold_date,
        last_sold_date,
        rank() over (order by revenue desc)::bigint as revenue_rank
    from joined

)

select * from final
