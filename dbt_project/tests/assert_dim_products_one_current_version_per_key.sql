-- Exactly one is_current version per product_id.
{{ scd2_current_version_violations(ref('dim_products'), 'product_id') }}
