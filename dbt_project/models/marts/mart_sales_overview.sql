{{ config(
    materialized='incremental',
    unique_key='cart_date',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    indexes=[{'columns': ['cart_date']}],
) }}
{%- set dates = cart_dates_to_rebuild(incremental_watermark('last_loaded_at'))
    if is_incremental() else none %}
-- Category and city are those in force at the cart time (SCD2 versions); 'unknown' when no version exists.
-- Incremental (delete+insert per cart date): a run rebuilds every cell of the dates with a cart or line
-- loaded or re-priced since its last run (last_loaded_at is the watermark), and of the dates whose line count
-- no longer matches fct_cart_items (a cart moved to another date): see cart_dates_to_rebuild.
with

cart_items as (

    {{ rows_to_rebuild(ref('fct_cart_items'), 'cart_date', dates) }}

),

carts as (

    {{ rows_to_rebuild(ref('fct_carts'), 'cart_date', dates) }}

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
        cart_items.line_revenue,
        greatest(cart_items.loaded_at, carts.loaded_at) as loaded_at
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
        {{ cart_line_measures() }},
        count(distinct user_id)::bigint as distinct_customers,
        max(loaded_at) as last_loaded_at
    from cart_lines
    group by cart_date, category, city

)

select * from final
