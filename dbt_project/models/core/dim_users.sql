with

snapshot as (

    select * from {{ ref('snp_fakestore__users') }}

),

versions as (

    select
        user_id,
        email,
        username,
        first_name,
        last_name,
        phone,
        city,
        street,
        street_number,
        zipcode,
        latitude,
        longitude,
        dbt_valid_from as observed_from,
        coalesce(dbt_valid_to, {{ scd2_end_of_time() }}) as valid_to
    from snapshot
    -- a rerun of an interval whose data changed in between leaves an empty version: drop it
    where dbt_valid_from < coalesce(dbt_valid_to, {{ scd2_end_of_time() }})

),

numbered as (

    select
        *,
        row_number() over (partition by user_id order by observed_from) as version_no
    from versions

),

windowed as (

    select
        *,
        case
            when version_no = 1 then {{ scd2_beginning_of_time() }}
            else observed_from
        end as valid_from
    from numbered

),

final as (

    select
        {{ generate_surrogate_key(['user_id', utc_iso8601('valid_from')]) }} as user_sk,
        user_id,
        version_no,
        email,
        username,
        first_name,
        last_name,
        phone,
        city,
        street,
        street_number,
        zipcode,
        latitude,
        longitude,
        observed_from,
        valid_from,
        valid_to,
        valid_to = {{ scd2_end_of_time() }} as is_current
    from windowed

)

select * from final
