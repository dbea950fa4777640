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
    Post-hook of every model: ANALYZE a table that has no statistics yet (one just built or rebuilt), and an
    incremental table after each merge, so that the models downstream in the same run are not planned blind:
    the rows a merge adds carry load times newer than anything the statistics saw, and a plan that takes
    them for a handful of rows joins them by nested loops (at 10^7 carts, minutes for fct_carts instead of a
    second). Autovacuum would analyze them too, but only after the run has gone by.
-#}
{% macro refresh_statistics() -%}
    {%- if execute and model.config.materialized in ('table', 'incremental') -%}
        {%- set query -%}
            select count(*) from pg_stats
            where schemaname = '{{ this.schema }}' and tablename = '{{ this.identifier }}'
        {%- endset -%}
        {%- if is_incremental() or run_query(query).columns[0].values()[0] == 0 -%}
            analyze {{ this }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
