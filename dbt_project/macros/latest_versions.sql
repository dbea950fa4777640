{#-
    The latest-batch rule over relations that hold every version of each key (one row per key and batch):
    the same recency as latest_batch_records, as a column list so that incremental models can also compare a
    new version with the stored one.
-#}

{#- Recency of bronze versions, most significant first; the newest wins on each column in turn. -#}
{% macro bronze_recency_columns() -%}
    {{ return(['interval_start', 'extracted_at', 'batch_id', 'record_no']) }}
{%- endmacro %}

{#- Orders: the version with the latest updated_at (shared by a batch) wins, then the bronze recency. -#}
{% macro order_recency_columns() -%}
    {{ return(['updated_at'] + bronze_recency_columns()) }}
{%- endmacro %}

{#-
    One row per natural key of versions_relation (all its columns): the newest by recency_columns.
    loaded_after (a SQL expression) keeps only the versions loaded after it, i.e. the batches loaded since an
    incremental model's last run when given that model's watermark.
-#}
{% macro latest_versions(versions_relation, natural_key, recency_columns, loaded_after=none) -%}
    select distinct on ({{ natural_key }}) *
    from {{ versions_relation }}
    {%- if loaded_after is not none %}
    where loaded_at > {{ loaded_after }}
    {%- endif %}
    order by {{ natural_key }}{% for column in recency_columns %}, {{ column }} desc{% endfor %}
{%- endmacro %}

{#-
    True where the version aliased candidate is newer than the version aliased stored (both carry the recency
    columns): an older interval loaded late, or the same version read again, does not replace what is stored.
-#}
{% macro is_newer_version(candidate, stored, recency_columns) -%}
    ({{ candidate }}.{{ recency_columns | join(', ' ~ candidate ~ '.') }})
    > ({{ stored }}.{{ recency_columns | join(', ' ~ stored ~ '.') }})
{%- endmacro %}

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
