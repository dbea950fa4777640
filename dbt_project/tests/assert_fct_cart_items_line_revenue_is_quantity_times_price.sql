-- line_revenue = quantity x unit_price on every line (both null when the line has no price).
select
    cart_id,
    line_no,
    quantity,
    unit_price,
    line_revenue
from {{ ref('fct_cart_items') }}
where line_revenue is distinct from quantity * unit_price
