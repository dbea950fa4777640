-- One row per product record in bronze, i.e. per product and batch (every batch is a full snapshot), typed
-- and cleaned. Which version is current is decided downstream (int_fakestore__products).
with

source as (

    select * from {{ source('fakestore', 'products') }}

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
        {{ bronze_lineage_columns() }}
    from source

)

select * from renamed
