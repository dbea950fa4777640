-- One row per current-weather response in bronze, i.e. per city and hourly batch, typed. The API returns the
-- same observation (city id and dt) again until it refreshes it, so one observation can be in several
-- batches: which one is kept is decided downstream (int_openweather__observations).
with

source as (

    select * from {{ source('openweather', 'observations') }}

),

renamed as (

    -- weather[0] is the primary condition; absent rain / snow objects mean no precipitation
    select
        (payload ->> 'id')::integer as city_id,
        trim(payload ->> 'name') as city_name,
        upper(trim(payload -> 'sys' ->> 'country')) as country_code,
        (payload -> 'coord' ->> 'lat')::numeric(9, 6) as latitude,
        (payload -> 'coord' ->> 'lon')::numeric(9, 6) as longitude,
        to_timestamp((payload ->> 'dt')::bigint) as observed_at,
        -- the city's calendar date: the observation time shifted by the offset the API reported with it
        (
            to_timestamp((payload ->> 'dt')::bigint + (payload ->> 'timezone')::integer) at time zone 'UTC'
        )::date as observed_date_local,
        (payload ->> 'timezone')::integer as timezone_offset_s,
        (payload -> 'main' ->> 'temp')::numeric(5, 2) as temperature_c,
        (payload -> 'main' ->> 'feels_like')::numeric(5, 2) as feels_like_c,
        (payload -> 'main' ->> 'temp_min')::numeric(5, 2) as temp_min_c,
        (payload -> 'main' ->> 'temp_max')::numeric(5, 2) as temp_max_c,
        (payload -> 'main' ->> 'pressure')::integer as pressure_hpa,
        (payload -> 'main' ->> 'humidity')::integer as humidity_pct,
        (payload -> 'wind' ->> 'speed')::numeric(6, 2) as wind_speed_ms,
        (payload -> 'wind' ->> 'deg')::integer as wind_deg,
        (payload -> 'wind' ->> 'gust')::numeric(6, 2) as wind_gust_ms,
        (payload -> 'clouds' ->> 'all')::integer as cloudiness_pct,
        (payload ->> 'visibility')::integer as visibility_m,
        coalesce((payload -> 'rain' ->> '1h')::numeric(7, 2), 0) as rain_1h_mm,
        coalesce((payload -> 'snow' ->> '1h')::numeric(7, 2), 0) as snow_1h_mm,
        (payload -> 'weather' -> 0 ->> 'id')::integer as condition_id,
        trim(payload -> 'weather' -> 0 ->> 'main') as condition_main,
        trim(payload -> 'weather' -> 0 ->> 'description') as condition_description,
        {{ bronze_lineage_columns() }}
    from source

)

select * from renamed
