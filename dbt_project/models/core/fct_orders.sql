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
-- depends_on: {{ ref('stg_orders__orders_latest') }}
-- Current state of each order: its version with the latest updated_at, as stg_orders__orders_latest chooses
-- it (that view is not read, only waited for, so that its tests stop bad data first). Incremental (merge on
-- order_id): a run reads only the versions loaded since its newest loaded_at, keeps the newest per order and
-- merges it where it is newer than the stored version (by the same rule), so a batch of an older interval
-- loaded late changes nothing and a rerun of the current one replaces it.
with

new_versions as (

    {{ latest_versions(
        ref('stg_orders__order_versions'),
        'order_id',
        order_recency_columns(),
        loaded_after=watermark,
    ) }}

),

newer_versions as (

    select new_versions.*
    from new_versions
    {% if is_incremental() %}
        left join {{ this }} as stored_version
            on new_versions.order_id = stored_version.order_id
        where
            stored_version.order_id is null
            or {{ is_newer_version('new_versions', 'stored_version', order_recency_columns()) }}
    {% endif %}

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
    from newer_versions

)

select * from final
