with

source as (

    {{ latest_batch_records(source('fakestore', 'carts'), "(payload ->> 'id')::integer") }}

),

carts as (

    select
        (payload ->> 'id')::integer as cart_id,
        payload -> 'products' as products,
        batch_id,
        interval_start as observed_at
    from source

),

cart_lines as (

    -- one row per element of the products array, numbered from 1 in array order
    select
        carts.cart_id,
        cart_line.line_no::integer as line_no,
        (cart_line.line_item ->> 'productId')::integer as product_id,
        (cart_line.line_item ->> 'quantity')::integer as quantity,
        carts.batch_id,
        carts.observed_at
    from carts
    cross join lateral jsonb_array_elements(carts.products) with ordinality as cart_line (line_item, line_no)

)

select * from cart_lines
