-- Each moving average lies between the lowest and highest close of its window (the same trading days of
-- fct_stock_prices_daily), and is null exactly when the window is not complete.
with

prices as (

    select * from {{ ref('fct_stock_prices_daily') }}

),

performance as (

    select * from {{ ref('mart_stock_performance') }}

),

window_ranges as (

    select
        ticker,
        trade_date,
        min(close_price) over last_7_days as min_close_7d,
        max(close_price) over last_7_days as max_close_7d,
        count(*) over last_7_days as days_7d,
        min(close_price) over last_30_days as min_close_30d,
        max(close_price) over last_30_days as max_close_30d,
        count(*) over last_30_days as days_30d,
        min(close_price) over last_90_days as min_close_90d,
        max(close_price) over last_90_days as max_close_90d,
        count(*) over last_90_days as days_90d
    from prices
    window
        last_7_days as (partition by ticker order by trade_date rows between 6 preceding and current row),
        last_30_days as (partition by ticker order by trade_date rows between 29 preceding and current row),
        last_90_days as (partition by ticker order by trade_date rows between 89 preceding and current row)

)

select
    performance.ticker,
    performance.trade_date,
    performance.moving_average_7d,
    performance.moving_average_30d,
    performance.moving_average_90d
from performance
inner join window_ranges
    on
        performance.ticker = window_ranges.ticker
        and performance.trade_date = window_ranges.trade_date
where
    (performance.moving_average_7d is null) != (window_ranges.days_7d < 7)
    or (performance.moving_average_30d is null) != (window_ranges.days_30d < 30)
    or (performance.moving_average_90d is null) != (window_ranges.days_90d < 90)
    or performance.moving_average_7d not between window_ranges.min_close_7d and window_ranges.max_close_7d
    or performance.moving_average_30d not between window_ranges.min_close_30d and window_ranges.max_close_30d
    or performance.moving_average_90d not between window_ranges.min_close_90d and window_ranges.max_close_90d
