-- One row per ticker and trading day. The API always answers with its current latest 100 days, whatever the
-- interval, so the newest extraction wins (then batch_id), also over a later interval extracted earlier.
with

source as (

    {{ latest_batch_records(
        source('alphavantage', 'daily_prices'),
        "upper(trim(payload ->> 'symbol')), (payload ->> 'date')::date",
        recency_order='extracted_at desc, batch_id desc, record_no desc',
    ) }}

),

renamed as (

    select
        upper(trim(payload ->> 'symbol')) as ticker,
        (payload ->> 'date')::date as trade_date,
        (payload ->> '1. open')::numeric(18, 4) as open_price,
        (payload ->> '2. high')::numeric(18, 4) as high_price,
        (payload ->> '3. low')::numeric(18, 4) as low_price,
        (payload ->> '4. close')::numeric(18, 4) as close_price,
        (payload ->> '5. volume')::bigint as volume,
        left(payload ->> 'last_refreshed', 10)::date as last_refreshed_date,
        trim(payload ->> 'time_zone') as exchange_time_zone,
        batch_id,
        extracted_at,
        loaded_at
    from source

)

select * from renamed
