with

source as (

    {{ latest_batch_records(source('fakestore', 'products'), "(payload ->> 'id')::integer") }}

),

renamed as (

    select
        (payload ->> 'id')::integer as product_id,
        trim(payload ->> 'title') as title,
        trim(payload ->> 'description') as description,
        lower(trim(payload ->> 'category')) as category,
        (payload ->> 'price')::numeric(12, 2) as price,
        trim(payload ->> 'image') as image_url,
        (payload -> 'rating' ->> 'rate')::numeric(4, 2) as rating_rate,
        (payload -> 'rating' ->> 'count')::integer as rating_count,
        batch_id,
        interval_start as observed_at,
        loaded_at
    from source

)

select * from renamed
