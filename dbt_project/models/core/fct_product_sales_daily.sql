{{ config(
    materialized='incremental',
    unique_key='cart_date',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    indexes=[{'columns': ['cart_date']}],
) }}
{%- set dates = cart_dates_to_rebuild(incremental_watermark('last_loaded_at'), include_carts=false)
    if is_incremental() else none %}
-- Sales per cart date and product, the additive base of mart_product_performance: a cart has one date, so
-- its distinct carts per date add up to the product's. Incremental (delete+insert per cart date): a run
-- rebuilds the dates with a line loaded or re-priced since its last run, and the dates whose line count no
-- longer matches fct_cart_items (see cart_dates_to_rebuild). A 1% delta of carts touches every product but
-- few dates.
with

cart_items as (

    {{ rows_to_rebuild(ref('fct_cart_items'), 'cart_date', dates) }}

),

final as (

    select
        cart_date,
        product_id,
        {{ cart_line_measures() }},
        max(loaded_at) as last_loaded_at
    from cart_items
    group by cart_date, product_id

)

select * from final
