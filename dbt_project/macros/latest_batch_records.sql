{#-
    The current record per natural key of a bronze table that holds every landed batch:
    the latest batch wins, with a deterministic tie-break (interval_start, then extracted_at,
    then batch_id, then record_no, all descending). Returns every bronze column.
    recency_order replaces that ordering for sources whose newest extraction (or a payload
    field) decides, e.g. APIs that always return their current state whatever the interval.
-#}
{% macro latest_batch_records(
    source_relation,
    natural_key,
    recency_order=none
) -%}
    {%- set recency_order = recency_order or bronze_recency_columns() | join(' desc, ') ~ ' desc' -%}
    select
        ranked_records.batch_id,
        ranked_records.record_no,
        ranked_records.record_hash,
        ranked_records.payload,
        ranked_records.lake_uri,
        ranked_records.interval_start,
        ranked_records.interval_end,
        ranked_records.extracted_at,
        ranked_records.loaded_at
    from (
        select
            *,
            row_number() over (
                partition by {{ natural_key }}
                order by {{ recency_order }}
            ) as batch_recency_rank
        from {{ source_relation }}
    ) as ranked_records
    where ranked_records.batch_recency_rank = 1
{%- endmacro %}
