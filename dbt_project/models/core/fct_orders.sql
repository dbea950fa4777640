{{ config(
    materialized='incremental',
    unique_key='order_id',
    incremental_strategy='merge',
    on_schema_change='fail',
    indexes=[
        {'columns': ['order_id'], 'unique': true},
        {'columns': ['loaded_at']},
    ],
) }}
{%- set watermark = incremental_watermark() if is_incremental() else none %}
-- Current state of each order: its current version as int_orders__orders chooses it (the latest updated_at).
-- Incremental (merge on order_id): a run merges the current versions loaded since its newest loaded_at. A
-- version loaded earlier that is still current is already here, so a batch of an older interval loaded late
-- changes nothing (it does not win) and a rerun of the current one replaces it (it wins, with a new
-- loaded_at), as a full refresh would.
with

current_versions as (

    select * from {{ ref('int_orders__orders') }}
    {% if is_incremental() -%}
        where loaded_at > {{ watermark }}
    {%- endif %}

),

final as (

    select
        order_id,
        customer_id,
        status,
        amount,
        currency,
        created_at,
        (created_at at time zone 'UTC')::date as created_date,
        updated_at,
        status in ('delivered', 'cancelled') as is_closed,
        batch_id,
        record_no,
        interval_start,
        extracted_at,
        loaded_at
    from current_versions

)

select * from final
