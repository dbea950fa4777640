-- One row per extract or load attempt. A view, not a table: it shows the attempts of the run in progress
-- and costs nothing to rebuild, since the trail is small and indexed by batch.
{{ config(materialized='view') }}

with

runs as (

    select * from {{ ref('fct_ingestion_runs') }}

),

final as (

    select
        run_id,
        source,
        entity,
        batch_id,
        stage,
        status,
        interval_start,
        interval_end,
        started_at,
        finished_at,
        duration_s,
        extracted_count,
        loaded_count,
        rejected_count,
        error
    from runs

)

select * from final
