-- Each cart's revenue equals the sum of its lines' line_revenue (unpriced lines count as 0).
with

carts as (

    select * from {{ ref('fct_carts') }}

),

cart_items as (

    select * from {{ ref('fct_cart_items') }}

),

item_totals as (

    select
        cart_id,
        coalesce(sum(line_revenue), 0) as line_revenue
    from cart_items
    group by cart_id

)

select
    carts.cart_id,
    carts.revenue,
    item_totals.line_revenue
from carts
left join item_totals
    on carts.cart_id = item_totals.cart_id
where carts.revenue != coalesce(item_totals.line_revenue, 0)
