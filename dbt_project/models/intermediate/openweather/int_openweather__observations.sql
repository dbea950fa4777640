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
        latest.*
    from latest

)

select * from final
