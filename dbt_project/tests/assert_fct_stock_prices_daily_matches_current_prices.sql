-- Every ticker and day of int_alphavantage__daily_prices is in the fact with the values of the same
-- (newest) batch: incremental runs have merged every newer batch. Older days only the fact still holds are
-- not checked.
with

daily_prices as (

    select * from {{ ref('int_alphavantage__daily_prices') }}

),

stock_prices as (

    select * from {{ ref('fct_stock_prices_daily') }}

)

select
    daily_prices.ticker,
    daily_prices.trade_date,
    daily_prices.batch_id as current_batch_id,
    stock_prices.batch_id as fact_batch_id,
    daily_prices.close_price as current_close_price,
    stock_prices.close_price as fact_close_price
from daily_prices
left join stock_prices
    on
        daily_prices.ticker = stock_prices.ticker
        and daily_prices.trade_date = stock_prices.trade_date
where
    stock_prices.ticker is null
    or daily_prices.batch_id != stock_prices.batch_id
    or daily_prices.open_price != stock_prices.open_price
    or daily_prices.high_price != stock_prices.high_price
    or daily_prices.low_price != stock_prices.low_price
    or daily_prices.close_price != stock_prices.close_price
    or daily_prices.volume != stock_prices.volume
