-- Per source entity with at least one successful load: how fresh bronze is and how much it received.
-- A view, so seconds_since_last_success is computed at query time. A batch loaded more than once counts
-- once, with its latest successful load: a failed reload rolls back, leaving that load's rows in bronze.
{{ config(materialized='view') }}

with

runs as (

    select * from {{ ref('fct_ingestion_runs') }}

),

successful_loads as (

    select * from runs
    where stage = 'load' and status = 'success'

),

batch_loads as (

    select distinct on (source, entity, batch_id)
        source,
        entity,
        batch_id,
        interval_end,
        finished_at,
        loaded_count,
        rejected_count
    from successful_loads
    order by source asc, entity asc, batch_id asc, run_id desc

),

entity_loads as (

    select
        source,
        entity,
        max(finished_at) as last_success_at,
        max(interval_end) as last_interval_end,
        sum(loaded_count) as rows_loaded_total,
        sum(rejected_count) as rows_rejected_total
    from batch_loads
    group by source, entity

),

-- Partitioned sources land one batch per city or ticker and interval: the last batch is all of them.
last_batches as (

    select
        batch_loads.source,
        batch_loads.entity,
        sum(batch_loads.loaded_count) as last_batch_loaded,
        sum(batch_loads.rejected_count) as last_batch_rejected
    from batch_loads
    inner join entity_loads
        on
            batch_loads.source = entity_loads.source
            and batch_loads.entity = entity_loads.entity
            and batch_loads.interval_end = entity_loads.last_interval_end
    group by batch_loads.source, batch_loads.entity

),

recent_failures as (

    select
        source,
        entity,
        count(*) as failed_attempts_24h
    from runs
    where status = 'failed' and started_at > now() - interval '24 hours'
    group by source, entity

),

final as (

    select
        entity_loads.source,
        entity_loads.entity,
        entity_loads.last_success_at,
        entity_loads.last_interval_end,
        extract(epoch from now() - entity_loads.last_success_at)::double precision
            as seconds_since_last_success,
        coalesce(entity_loads.rows_loaded_total, 0)::bigint as rows_loaded_total,
        coalesce(entity_loads.rows_rejected_total, 0)::bigint as rows_rejected_total,
        coalesce(last_batches.last_batch_loaded, 0)::bigint as last_batch_loaded,
        coalesce(last_batches.last_batch_rejected, 0)::bigint as last_batch_rejected,
        coalesce(recent_failures.failed_attempts_24h, 0)::bigint as failed_attempts_24h
    from entity_loads
    left join last_batches
        on
            entity_loads.source = last_batches.source
            and entity_loads.entity = last_batches.entity
    left join recent_failures
        on
            entity_loads.source = recent_failures.source
            and entity_loads.entity = recent_failures.entity

)

select * from final
