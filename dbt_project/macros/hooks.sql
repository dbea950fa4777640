{#- The project-wide model hooks (dbt_project.yml: +pre-hook, +post-hook). -#}

{#-
    Session settings of an incremental run (a pre-hook, inside the model's transaction): such a run reads few
    rows through indexes, but is planned with the estimates of whole tables whose statistics may predate the
    last merge, and JIT compilation of such a plan costs more than running it. Nothing for other runs.
-#}
{% macro incremental_run_settings() -%}
    {%- if is_incremental() -%}
        set local jit = off
    {%- endif -%}
{%- endmacro %}

{#-
    Post-hook of every model: ANALYZE a table that has no statistics yet, i.e. one just built or rebuilt, so
    that the first incremental run after it is not planned blind (autovacuum may not have come by yet).
-#}
{% macro analyze_new_table() -%}
    {%- if execute and model.config.materialized in ('table', 'incremental') -%}
        {%- set query -%}
            select count(*) from pg_stats
            where schemaname = '{{ this.schema }}' and tablename = '{{ this.identifier }}'
        {%- endset -%}
        {%- if run_query(query).columns[0].values()[0] == 0 -%}
            analyze {{ this }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
