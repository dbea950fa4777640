{#- Helpers of the incremental models: what a run takes in, read before it as literals. -#}

{#-
    The newest bronze load time an incremental model has taken in (its column loaded_at, or another one), as
    a literal: the next run takes in what was loaded after it. A literal rather than a subquery, so that the
    planner sees how few rows are newer and uses the loaded_at indexes. -infinity while the model is empty.
-#}
{% macro incremental_watermark(column='loaded_at') -%}
    {%- set newest = none -%}
    {%- if execute -%}
        {%- set query = 'select max(' ~ column ~ ')::text from ' ~ this -%}
        {%- set newest = run_query(query).columns[0].values()[0] -%}
    {%- endif -%}
    '{{ newest or "-infinity" }}'::timestamptz
{%- endmacro %}

{#-
    The values of the first column of query, run before the model, as an SQL array literal of sql_type
    (empty at parse time). For the keys an incremental run recomputes: as a literal, the planner sees how
    few they are and reaches them through indexes, where a subquery would be planned for a whole table.
-#}
{% macro keys_to_rebuild(query, sql_type) -%}
    {%- set keys = run_query(query).columns[0].values() if execute else [] -%}
    array[
        {%- for key in keys -%}
            '{{ key }}'{{ ', ' if not loop.last }}
        {%- endfor -%}
    ]::{{ sql_type }}[]
{%- endmacro %}

{#-
    The rows of relation that an incremental run recomputes: those whose key_column is one of keys (an array
    literal from keys_to_rebuild, or cart_dates_to_rebuild); every row when the model is built in full.
-#}
{% macro rows_to_rebuild(relation, key_column, keys) -%}
    select * from {{ relation }}
    {%- if is_incremental() %}
    where {{ key_column }} = any({{ keys }})
    {%- endif %}
{%- endmacro %}
