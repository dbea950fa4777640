-- Per ticker and trading day. Windows count trading days (rows), not calendar days. A moving average is
-- null until its whole window exists, and volatility_30d until 30 daily returns exist (31 trading days).
with

prices as (

    select * from {{ ref('fct_stock_prices_daily') }}

),

previous_closes as (

    select
        ticker,
        trade_date,
        close_price,
        volume,
        lag(close_price) over (partition by ticker order by trade_date) as previous_close_price
    from prices

),

daily_returns as (

    select
        *,
        close_price / nullif(previous_close_price, 0) - 1 as daily_return
    from previous_closes

),

windowed as (

    select
        ticker,
        trade_date,
        close_price,
        volume,
        previous_close_price,
        daily_return,
        avg(close_price) over last_7_days as average_close_7d,
        count(close_price) over last_7_days as closes_7d,
        avg(close_price) over last_30_days as average_close_30d,
        count(close_price) over last_30_days as closes_30d,
        avg(close_price) over last_90_days as average_close_90d,
        count(close_price) over last_90_days as closes_90d,
        stddev_samp(daily_return) over last_30_days as stddev_return_30d,
        count(daily_return) over last_30_days as returns_30d
    from daily_returns
    window
        last_7_days as (partition by ticker order by trade_date rows between 6 preceding and current row),
        last_30_days as (partition by ticker order by trade_date rows between 29 preceding and current row),
        last_90_days as (partition by ticker order by trade_date rows between 89 preceding and current row)

),

final as (

    select
        ticker,
        trade_date,
        close_price::numeric(18, 4) as close_price,
        volume,
        previous_close_price::numeric(18, 4) as previous_close_price,
        round(daily_return, 8)::numeric(14, 8) as daily_return,
        (case when closes_7d = 7 then round(average_close_7d, 4) end)::numeric(18, 4) as moving_average_7d,
        (case when closes_30d = 30 then round(average_close_30d, 4) end)::numeric(18, 4)
            as moving_average_30d,
        (case when closes_90d = 90 then round(average_close_90d, 4) end)::numeric(18, 4)
            as moving_average_90d,
        (case when returns_30d = 30 then round(stddev_return_30d, 8) end)::numeric(14, 8) as volatility_30d
    from windowed

)

select * from final
