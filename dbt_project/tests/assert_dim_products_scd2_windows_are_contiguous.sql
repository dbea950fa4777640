-- Per product_id: first version from 1900-01-01, no gaps, no overlaps, open version until 9999-12-31.
{{ scd2_window_violations(ref('dim_products'), 'product_id') }}
