{#-
    The latest-version rule over relations that hold every version of each key (one row per key and batch,
    the staging models): the newest version by recency columns wins. The recency is a column list, so that
    incremental models can also compare a new version with the stored one.
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
