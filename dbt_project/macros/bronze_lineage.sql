{#-
    The lineage columns every staging model carries over from its bronze table, in this order: the batch and
    the record's position in it, the data interval it was extracted for, and when it was extracted and loaded.
    For a select list (no trailing comma).
-#}
{% macro bronze_lineage_columns() -%}
    batch_id,
    record_no,
    interval_start,
    extracted_at,
    loaded_at
{%- endmacro %}
