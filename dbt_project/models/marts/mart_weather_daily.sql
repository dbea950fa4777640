-- Daily weather per city (local calendar day) with the city's current name and country, for BI.
with

weather_daily as (

    select * from {{ ref('fct_weather_daily') }}

),

cities as (

    select * from {{ ref('dim_cities') }}

),

final as (

    select
        weather_daily.city_id,
        cities.city_name,
        cities.country_code,
        weather_daily.observation_date,
        weather_daily.temperature_min_c,
        weather_daily.temperature_max_c,
        weather_daily.temperature_mean_c,
        weather_daily.humidity_mean_pct,
        weather_daily.precipitation_mm,
        weather_daily.rain_mm,
        weather_daily.snow_mm,
        weather_daily.dominant_condition,
        weather_daily.observation_count
    from weather_daily
    left join cities
        on weather_daily.city_id = cities.city_id

)

select * from final
