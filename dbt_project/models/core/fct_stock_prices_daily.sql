{{ config(
    materialized='incremental',
    unique_key=['ticker', 'trade_date'],
    incremental_strategy='merge',
    on_schema_change='fail',
) }}
-- Daily prices per ticker with all the history seen so far. The API returns the latest 100 trading days
-- only, so this table keeps older days after their batches are pruned from bronze. An incremental run merges
-- the rows of int_alphavantage__daily_prices whose winning batch is not the one already here: every row of a
-- batch loaded after the previous run (a later loaded_at), and rows whose winner moved to another batch (a
-- rerun replaced theirs).
-- Days still in bronze therefore equal a full refresh; a full refresh drops the days bronze no longer holds.
with

daily_prices as (

    select * from {{ ref('int_alphavantage__daily_prices') }}

),

new_prices as (

    select daily_prices.*
    from daily_prices
    {% if is_incremental() %}
        left join {{ this }} as existing_prices
            on
                daily_prices.ticker = existing_prices.ticker
                and daily_prices.trade_date = existing_prices.trade_date
        where
            existing_prices.ticker is null
            or daily_prices.loaded_at != existing_prices.loaded_at
            or daily_prices.batch_id != existing_prices.batch_id
    {% endif %}

),

final as (

    select
        ticker,
        trade_date,
        open_price,
        high_price,
        low_price,
        close_price,
        volume,
        batch_id,
        loaded_at
    from new_prices

)

select * from final
