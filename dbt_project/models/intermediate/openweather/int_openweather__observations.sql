-- One row per observation (city id + observed_at): an observation the API had not refreshed yet arrives in
-- several batches, and the latest batch wins (interval_start, extracted_at, batch_id, record_no descending).
with

latest as (

    {{ latest_versions(
        ref('stg_openweather__observations'),
        'city_id, observed_at',
        bronze_recency_columns(),
    ) }}

),

final as (

    select
        {{ generate_surrogate_key(['city_id', utc_iso8601('observed_at')]) }} as observation_sk,
        city_id,
        city_name,
        country_code,
        latitude,
        longitude,
        observed_at,
        observed_date_local,
        timezone_offset_s,
        temperature_c,
        feels_like_c,
        temp_min_c,
        temp_max_c,
        pressure_hpa,
        humidity_pct,
        wind_speed_ms,
        wind_deg,
        wind_gust_ms,
        cloudiness_pct,
        visibility_m,
        rain_1h_mm,
        snow_1h_mm,
        condition_id,
        condition_main,
        condition_description,
        batch_id,
        loaded_at
    from latest

)

select * from final
