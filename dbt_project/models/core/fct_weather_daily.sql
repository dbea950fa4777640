{{ config(
    materialized='incremental',
    unique_key=['city_id', 'observation_date'],
    incremental_strategy='merge',
    on_schema_change='fail',
) }}
-- Weather per city and local calendar day. An incremental run recomputes, from all their observations,
-- the whole days whose observations changed since the last run: days with an observation loaded since
-- (last_loaded_at moved) or with a different observation count (a rerun replaced a batch). The other days
-- are left as they are, so the result equals a full refresh; only a day none of whose observations is left
-- in bronze keeps its row until a full refresh.
with

observations as (

    select * from {{ ref('int_openweather__observations') }}

),

day_loads as (

    select
        city_id,
        observed_date_local as observation_date,
        count(*) as observation_count,
        max(loaded_at) as last_loaded_at
    from observations
    group by city_id, observed_date_local

),

changed_days as (

    select
        day_loads.city_id,
        day_loads.observation_date
    from day_loads
    {% if is_incremental() %}
        left join {{ this }} as existing_days
            on
                day_loads.city_id = existing_days.city_id
                and day_loads.observation_date = existing_days.observation_date
        where
            existing_days.city_id is null
            or day_loads.observation_count != existing_days.observation_count
            or day_loads.last_loaded_at != existing_days.last_loaded_at
    {% endif %}

),

day_observations as (

    select observations.*
    from observations
    inner join changed_days
        on
            observations.city_id = changed_days.city_id
            and observations.observed_date_local = changed_days.observation_date

),

conditions as (

    -- mode of the primary condition; ties go to the alphabetically first group
    select
        city_id,
        observed_date_local,
        condition_main,
        row_number() over (
            partition by city_id, observed_date_local
            order by count(*) desc, condition_main asc
        ) as condition_rank
    from day_observations
    where condition_main is not null
    group by city_id, observed_date_local, condition_main

),

daily as (

    select
        city_id,
        observed_date_local,
        min(temperature_c) as temperature_min_c,
        max(temperature_c) as temperature_max_c,
        avg(temperature_c) as temperature_mean_c,
        avg(humidity_pct) as humidity_mean_pct,
        sum(rain_1h_mm) as rain_mm,
        sum(snow_1h_mm) as snow_mm,
        count(*) as observation_count,
        min(observed_at) as first_observed_at,
        max(observed_at) as last_observed_at,
        max(loaded_at) as last_loaded_at
    from day_observations
    group by city_id, observed_date_local

),

final as (

    select
        daily.city_id,
        daily.observed_date_local as observation_date,
        daily.temperature_min_c::numeric(5, 2) as temperature_min_c,
        daily.temperature_max_c::numeric(5, 2) as temperature_max_c,
        round(daily.temperature_mean_c, 2)::numeric(5, 2) as temperature_mean_c,
        round(daily.humidity_mean_pct, 2)::numeric(5, 2) as humidity_mean_pct,
        (daily.rain_mm + daily.snow_mm)::numeric(9, 2) as precipitation_mm,
        daily.rain_mm::numeric(9, 2) as rain_mm,
        daily.snow_mm::numeric(9, 2) as snow_mm,
        conditions.condition_main as dominant_condition,
        daily.observation_count::integer as observation_count,
        daily.first_observed_at,
        daily.last_observed_at,
        daily.last_loaded_at
    from daily
    left join conditions
        on
            daily.city_id = conditions.city_id
            and daily.observed_date_local = conditions.observed_date_local
            and conditions.condition_rank = 1

)

select * from final
