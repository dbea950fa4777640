-- One row per daily price record in bronze, i.e. per ticker, trading day and batch (every batch carries the
-- latest 100 trading days), typed. Which batch wins a day is decided downstream
-- (int_alphavantage__daily_prices).
with

source as (

    select * from {{ source('alphavantage', 'daily_prices') }}

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
        {{ bronze_lineage_columns() }}
    from source

)

select * from renamed
