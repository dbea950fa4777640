-- One row per order: the version with the latest updated_at (shared by a whole batch), then the usual
-- batch recency as tie-break. An order missing from later batches keeps its last known state.
with

source as (

    {{ latest_batch_records(
        source('orders', 'orders'),
        "(payload ->> 'order_id')::integer",
        recency_order=parse_utc_timestamp("payload ->> 'updated_at'")
            ~ ' desc, interval_start desc, extracted_at desc, batch_id desc, record_no desc',
    ) }}

),

renamed as (

    select
        (payload ->> 'order_id')::integer as order_id,
        (payload ->> 'customer_id')::integer as customer_id,
        lower(trim(payload ->> 'status')) as status,
        (payload ->> 'amount')::numeric(12, 2) as amount,
        upper(trim(payload ->> 'currency')) as currency,
        {{ parse_utc_timestamp("payload ->> 'created_at'") }} as created_at,
        {{ parse_utc_timestamp("payload ->> 'updated_at'") }} as updated_at,
        batch_id,
        loaded_at
    from source

)

select * from renamed
