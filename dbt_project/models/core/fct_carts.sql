-- A cart whose user has no version in dim_users is kept with a null user_sk (warn-severity test).
with

carts as (

    select * from {{ ref('stg_fakestore__carts') }}

),

cart_items as (

    select * from {{ ref('fct_cart_items') }}

),

users as (

    select * from {{ ref('dim_users') }}

),

cart_totals as (

    select
        cart_id,
        count(*) as item_count,
        sum(quantity) as total_quantity,
        sum(line_revenue) as revenue
    from cart_items
    group by cart_id

),

final as (

    select
        carts.cart_id,
        users.user_sk,
        carts.user_id,
        carts.cart_at,
        carts.cart_date,
        coalesce(cart_totals.item_count, 0)::integer as item_count,
        coalesce(cart_totals.total_quantity, 0)::integer as total_quantity,
        coalesce(cart_totals.revenue, 0)::numeric(14, 2) as revenue
    from carts
    left join users
        on
            carts.user_id = users.user_id
            and carts.cart_at >= users.valid_from
            and carts.cart_at < users.valid_to
    left join cart_totals
        on carts.cart_id = cart_totals.cart_id

)

select * from final
