-- Category and city are those in force at the cart time (SCD2 versions); 'unknown' when no version exists.
with

cart_items as (

    select * from {{ ref('fct_cart_items') }}

),

carts as (

    select * from {{ ref('fct_carts') }}

),

products as (

    select * from {{ ref('dim_products') }}

),

users as (

    select * from {{ ref('dim_users') }}

),

cart_lines as (

    select
        cart_items.cart_date,
        coalesce(products.category, 'unknown') as category,
        coalesce(users.city, 'unknown') as city,
        cart_items.cart_id,
        carts.user_id,
        cart_items.quantity,
        cart_items.line_revenue
    from cart_items
    inner join carts
        on cart_items.cart_id = carts.cart_id
    left join products
        on cart_items.product_sk = products.product_sk
    left join users
        on carts.user_sk = users.user_sk

),

final as (

    select
        cart_date,
        category,
        city,
        count(distinct cart_id)::bigint as carts,
        count(*)::bigint as items,
        sum(quantity)::bigint as units,
        coalesce(sum(line_revenue), 0)::numeric(14, 2) as revenue,
        count(distinct user_id)::bigint as distinct_customers
    from cart_lines
    group by cart_date, category, city

)

select * from final
