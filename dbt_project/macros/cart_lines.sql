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

{#- The additive measures of a group of cart lines (fct_cart_items rows): carts, items, units, revenue. -#}
{% macro cart_line_measures() -%}
    count(distinct cart_id)::bigint as carts,
    count(*)::bigint as items,
    sum(quantity)::bigint as units,
    coalesce(sum(line_revenue), 0)::numeric(14, 2) as revenue
{%- endmacro %}
