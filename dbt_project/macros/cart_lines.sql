{#-
    One row per element of the products array of each cart of carts_relation (cart_id, products), numbered
    from 1 in array order: cart_id, the given columns of the cart, line_no, product_id, quantity.
-#}
{% macro cart_lines(carts_relation, cart_columns=[]) -%}
    select
        carts.cart_id,
        {%- for column in cart_columns %}
        carts.{{ column }},
        {%- endfor %}
        cart_line.line_no::integer as line_no,
        (cart_line.line_item ->> 'productId')::integer as product_id,
        (cart_line.line_item ->> 'quantity')::integer as quantity
    from {{ carts_relation }} as carts
    cross join lateral jsonb_array_elements(carts.products) with ordinality as cart_line (line_item, line_no)
{%- endmacro %}

{#-
    The cart dates an incremental model aggregating fct_cart_items per date must rebuild, as a date array
    literal: the dates of the lines (and, with include_carts, of the carts of fct_carts) loaded after
    watermark, and the dates whose line count in fct_cart_items differs from the sum of items_column stored
    in the model (a cart moved to another date, or lost lines).
-#}
{% macro cart_dates_to_rebuild(watermark, items_column='items', include_carts=true) -%}
    {%- set query -%}
        select cart_date from {{ ref('fct_cart_items') }} where loaded_at > {{ watermark }}
        {%- if include_carts %}
        union
        select cart_date from {{ ref('fct_carts') }} where loaded_at > {{ watermark }}
        {%- endif %}
        union
        select coalesce(fact_items.cart_date, stored_items.cart_date)
        from (
            select cart_date, count(*) as items from {{ ref('fct_cart_items') }} group by cart_date
        ) as fact_items
        full outer join (
            select cart_date, sum({{ items_column }}) as items from {{ this }} group by cart_date
        ) as stored_items
            on fact_items.cart_date = stored_items.cart_date
        where coalesce(fact_items.items, 0) != coalesce(stored_items.items, 0)
    {%- endset -%}
    {{ return(keys_to_rebuild(query, 'date')) }}
{%- endmacro %}
