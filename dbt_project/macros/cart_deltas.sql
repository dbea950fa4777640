{#- What the incremental cart models recompute: the carts and cart dates touched since their watermark. -#}

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

{#-
    The carts an incremental model keyed on cart_id must recompute (one column, cart_id): those whose current
    version in carts (int_fakestore__carts), or a row of a relation of also_changed (each with cart_id and
    loaded_at), was loaded after watermark, and those of the model's stored rows that fall in the validity window of a
    version of dimension (an SCD2 model, matched on dimension_key at cart_at) created since.
    (Each relation is read where it is needed rather than shared as a CTE: a CTE read twice is materialized
    whole, which would defeat the indexes the delta relies on.)
-#}
{% macro carts_changed_since(watermark, carts, dimension, dimension_key, also_changed=[]) -%}
    select cart_id
    from {{ carts }}
    where loaded_at > {{ watermark }}
    {%- for relation in also_changed %}

    union

    select cart_id
    from {{ relation }}
    where loaded_at > {{ watermark }}
    {%- endfor %}

    union

    select stored.cart_id
    from {{ this }} as stored
    inner join {{ dimension }} as new_versions
        on
            stored.{{ dimension_key }} = new_versions.{{ dimension_key }}
            and stored.cart_at >= new_versions.valid_from
            and stored.cart_at < new_versions.valid_to
    where new_versions.loaded_at > {{ watermark }}
{%- endmacro %}
