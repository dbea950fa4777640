with

snapshot as (

    select * from {{ ref('snp_fakestore__products') }}

),

versions as (

    select
        product_id,
        title,
        description,
        category,
        price,
        image_url,
        rating_rate,
        rating_count,
        dbt_valid_from as observed_from,
        coalesce(dbt_valid_to, {{ scd2_end_of_time() }}) as valid_to
    from snapshot
    -- a rerun of an interval whose data changed in between leaves an empty version: drop it
    where dbt_valid_from < coalesce(dbt_valid_to, {{ scd2_end_of_time() }})

),

numbered as (

    select
        *,
        row_number() over (partition by product_id order by observed_from) as version_no
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
        {{ generate_surrogate_key(['product_id', utc_iso8601('valid_from')]) }} as product_sk,
        product_id,
        version_no,
        title,
        description,
        category,
        price,
        image_url,
        rating_rate,
        rating_count,
        observed_from,
        valid_from,
        valid_to,
        valid_to = {{ scd2_end_of_time() }} as is_current
    from windowed

)

select * from final
