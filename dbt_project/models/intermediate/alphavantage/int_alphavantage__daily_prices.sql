-- One row per ticker and trading day. The API always answers with its current latest 100 days, whatever the
-- interval, so the newest extraction wins (then batch_id and record_no), also over a later interval
-- extracted earlier.
with

latest as (

    {{ latest_versions(
        ref('stg_alphavantage__daily_prices'),
        'ticker, trade_date',
        ['extracted_at', 'batch_id', 'record_no'],
    ) }}

)

select * from latest
