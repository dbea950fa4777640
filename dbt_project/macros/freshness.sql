{#-
    The freshness of a bronze source table: when its entity was last loaded successfully, from the audit trail.
    A load that found no new records (an empty delta) still counts as checked and fresh; a failed or missing
    extraction does not. Used as the sources' loaded_at_query; dbt renders it per source table at run time,
    where `model` is that table.
-#}
{% macro last_successful_load() -%}
    select max(finished_at)
    from {{ source('audit', 'ingestion_runs') }}
    where
        source = '{{ model.source_name }}'
        and entity = '{{ model.name }}'
        and stage = 'load'
        and status = 'success'
        and not replay
{%- endmacro %}
