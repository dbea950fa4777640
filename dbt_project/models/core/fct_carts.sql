{{ config(
    materialized='incremental',
    unique_key='cart_id',
    incremental_strategy='merge',
    on_schema_change='fail',
    indexes=[
        {'columns': ['cart_id'], 'unique': true},
        {'columns': ['loaded_at']},
        {'columns': ['user_id', 'cart_at']},
        {'columns': ['cart_date']},
    ],
) }}
{%- set watermark = incremental_watermark() if is_incremental() else none %}
-- A cart whose user has no version in dim_users is kept with a null user_sk (warn-severity test).
-- Incremental (merge on cart_id): a run recomputes the carts whose current version was merged since its last
-- run, whose lines were rebuilt since, or that fall in the window of a user version created since.
-- loaded_at, the newest load time behind the cart (its version, its user's version, its lines), is the
-- watermark.
with

{% if is_incremental() -%}
    changed_carts as (

        {{ carts_changed_since(
            watermark, ref('int_fakestore__carts'), ref('dim_users'), 'user_id', also_changed=[ref('fct_cart_items')]
        ) }}

    ),
{%- endif %}

carts as (

    select * from {{ ref('int_fakestore__carts') }}
    {% if is_incremental() -%}
        where cart_id in (select changed_carts.cart_id from changed_carts)
    {%- endif %}

),

cart_items as (

    select * from {{ ref('fct_cart_items') }}
    {% if is_incremental() -%}
        where cart_id in (select changed_carts.cart_id from changed_carts)
    {%- endif %}

),

users as (

    select * from {{ ref('dim_users') }}

),

cart_totals as (

    select
        cart_id,
        count(*) as item_count,
        sum(quantity) as total_quantity,
        sum(line_revenue) as revenue,
        max(loaded_at) as loaded_at
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
        coalesce(cart_totals.revenue, 0)::numeric(14, 2) as revenue,
        greatest(carts.loaded_at, users.loaded_at, cart_totals.loaded_at) as loaded_at
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
