-- One row per extract or load attempt of the ingestion audit trail, the core of the pipeline-health marts.
-- Ephemeral, like the staging model it reads: the pipeline_health marts are views that bi_reader queries at
-- any time, and dbt rebuilds a view by dropping the old one with CASCADE, which would drop views built on it
-- until they are rebuilt. Inlined, the marts depend on audit.ingestion_runs only and are swapped atomically.
{{ config(materialized='ephemeral') }}

with

runs as (

    select * from {{ ref('stg_audit__ingestion_runs') }}

)

select * from runs
