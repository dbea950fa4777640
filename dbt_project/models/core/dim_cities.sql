-- One row per city with the attributes reported with its latest observation (the API may rename a city or
-- change its offset with daylight saving time).
with

observations as (

    select * from {{ ref('int_openweather__observations') }}

),

ranked as (

    select
        *,
        row_number() over (partition by city_id order by observed_at desc, batch_id desc) as recency_rank,
        min(observed_at) over (partition by city_id) as first_observed_at
    from observations

),

final as (

    select
        city_id,
        city_name,
        country_code,
        latitude,
        longitude,
        timezone_offset_s,
        first_observed_at,
        observed_at as last_observed_at
    from ranked
    where recency_rank = 1

)

select * from final
