{{ config(
    materialized='incremental',
    unique_key='cart_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    indexes=[
        {'columns': ['cart_id', 'line_no'], 'unique': true},
        {'columns': ['loaded_at']},
        {'columns': ['product_id', 'cart_at']},
        {'columns': ['cart_date']},
    ],
) }}
{%- set watermark = incremental_watermark() if is_incremental() else none %}
-- A line whose product has no version in dim_products is kept with null product_sk, unit_price and
-- line_revenue (flagged by a warn-severity not_null test) rather than dropped.
-- Incremental (delete+insert per cart): a run rebuilds all the lines of the carts whose current version was
-- merged since its last run, and of the carts with a line in the window of a product version created since
-- (a new price or a first version for an unknown product). loaded_at, the newest load time behind a line
-- (its cart's version or its product's version), is the watermark.
with

{% if is_incremental() -%}
    -- (The refs are repeated rather than shared as CTEs: a CTE read twice is materialized whole, which would
    -- defeat the indexes this delta relies on.)
    changed_carts as (

        select cart_id
        from {{ ref('int_fakestore__carts') }}
        where loaded_at > {{ watermark }}

        union

        select stored_lines.cart_id
        from {{ this }} as stored_lines
        inner join {{ ref('dim_products') }} as new_versions
            on
                stored_lines.product_id = new_versions.product_id
                and stored_lines.cart_at >= new_versions.valid_from
                and stored_lines.cart_at < new_versions.valid_to
        where new_versions.loaded_at > {{ watermark }}

    ),
{%- endif %}

carts as (

    select * from {{ ref('int_fakestore__carts') }}
    {% if is_incremental() -%}
        where cart_id in (select changed_carts.cart_id from changed_carts)
    {%- endif %}

),

products as (

    select * from {{ ref('dim_products') }}

),

cart_lines as (

    {{ cart_lines('carts', cart_columns=['cart_at', 'cart_date', 'loaded_at']) }}

),

final as (

    select
        cart_lines.cart_id,
        cart_lines.line_no,
        products.product_sk,
        cart_lines.product_id,
        cart_lines.cart_at,
        cart_lines.cart_date,
        cart_lines.quantity,
        products.price as unit_price,
        (cart_lines.quantity * products.price)::numeric(14, 2) as line_revenue,
        greatest(cart_lines.loaded_at, products.loaded_at) as loaded_at
    from cart_lines
    left join products
        on
            cart_lines.product_id = products.product_id
            and cart_lines.cart_at >= products.valid_from
            and cart_lines.cart_at < products.valid_to

)

select * from final
