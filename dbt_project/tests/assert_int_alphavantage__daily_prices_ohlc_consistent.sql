-- low <= open, close <= high on every trading day, and no negative price or volume.
select
    ticker,
    trade_date,
    open_price,
    high_price,
    low_price,
    close_price,
    volume
from {{ ref('int_alphavantage__daily_prices') }}
where
    low_price > least(open_price, close_price)
    or high_price < greatest(open_price, close_price)
    or low_price < 0
    or volume < 0
