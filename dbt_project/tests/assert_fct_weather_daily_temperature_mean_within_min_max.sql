-- temperature_min_c <= temperature_mean_c <= temperature_max_c on every city and day.
select
    city_id,
    observation_date,
    temperature_min_c,
    temperature_mean_c,
    temperature_max_c
from {{ ref('fct_weather_daily') }}
where
    not (temperature_min_c <= temperature_mean_c and temperature_mean_c <= temperature_max_c)
