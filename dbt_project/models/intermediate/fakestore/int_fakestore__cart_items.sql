{{ config(materialized='view') }}
-- One row per line of the current version of each cart (its products array, in array order). A view: the
-- lines are as many as fct_cart_items', which reads only those of the carts it recomputes (a filter on
-- cart_id that reaches int_fakestore__carts' index through the view).
with

carts as (

    select * from {{ ref('int_fakestore__carts') }}

),

cart_lines as (

    {{ cart_lines('carts', cart_columns=['cart_at', 'cart_date', 'batch_id', 'loaded_at']) }}

),

final as (

    select
        cart_id,
        line_no,
        product_id,
        quantity,
        cart_at,
        cart_date,
        batch_id,
        loaded_at
    from cart_lines

)

select * from final
