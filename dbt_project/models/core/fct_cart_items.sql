-- A line whose product has no version in dim_products is kept with null product_sk, unit_price and
-- line_revenue (flagged by a warn-severity not_null test) rather than dropped.
with

cart_items as (

    select * from {{ ref('stg_fakestore__cart_items') }}

),

carts as (

    select * from {{ ref('stg_fakestore__carts') }}

),

products as (

    select * from {{ ref('dim_products') }}

),

final as (

    select
        cart_items.cart_id,
        cart_items.line_no,
        products.product_sk,
        cart_items.product_id,
        carts.cart_at,
        carts.cart_date,
        cart_items.quantity,
        products.price as unit_price,
        (cart_items.quantity * products.price)::numeric(14, 2) as line_revenue
    from cart_items
    inner join carts
        on cart_items.cart_id = carts.cart_id
    left join products
        on
            cart_items.product_id = products.product_id
            and carts.cart_at >= products.valid_from
            and carts.cart_at < products.valid_to

)

select * from final
