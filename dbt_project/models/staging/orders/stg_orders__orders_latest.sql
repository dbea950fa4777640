-- One row per order: the version with the latest updated_at (shared by a batch), then the usual
-- batch recency as tie-break. An order missing from later batches keeps its last known state.
with

latest as (

    {{ latest_versions(ref('stg_orders__order_versions'), 'order_id', order_recency_columns()) }}

),

final as (

    select
        order_id,
        customer_id,
        status,
        amount,
        currency,
        created_at,
        updated_at,
        batch_id,
        loaded_at
    from latest

)

select * from final
