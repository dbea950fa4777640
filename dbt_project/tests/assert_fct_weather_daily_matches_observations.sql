-- Every city and local day of the observations has its fact row, with the same observation count,
-- precipitation and last load time: incremental runs have recomputed every day they had to.
with

observations as (

    select * from {{ ref('int_openweather__observations') }}

),

weather_daily as (

    select * from {{ ref('fct_weather_daily') }}

),

observed_days as (

    select
        city_id,
        observed_date_local as observation_date,
        count(*) as observation_count,
        sum(rain_1h_mm + snow_1h_mm) as precipitation_mm,
        max(loaded_at) as last_loaded_at
    from observations
    group by city_id, observed_date_local

)

select
    observed_days.city_id,
    observed_days.observation_date,
    observed_days.observation_count as observed_count,
    weather_daily.observation_count as fact_count,
    observed_days.precipitation_mm as observed_precipitation_mm,
    weather_daily.precipitation_mm as fact_precipitation_mm
from observed_days
left join weather_daily
    on
        observed_days.city_id = weather_daily.city_id
        and observed_days.observation_date = weather_daily.observation_date
where
    weather_daily.city_id is null
    or observed_days.observation_count != weather_daily.observation_count
    or observed_days.precipitation_mm != weather_daily.precipitation_mm
    or observed_days.last_loaded_at != weather_daily.last_loaded_at
