-- One row per user record in bronze, i.e. per user and batch (every batch is a full snapshot), typed and
-- cleaned. Which version is current is decided downstream (int_fakestore__users).
with

source as (

    select * from {{ source('fakestore', 'users') }}

),

renamed as (

    -- the API's plaintext password is deliberately not carried over
    select
        (payload ->> 'id')::integer as user_id,
        lower(trim(payload ->> 'email')) as email,
        trim(payload ->> 'username') as username,
        trim(payload -> 'name' ->> 'firstname') as first_name,
        trim(payload -> 'name' ->> 'lastname') as last_name,
        trim(payload ->> 'phone') as phone,
        lower(trim(payload -> 'address' ->> 'city')) as city,
        trim(payload -> 'address' ->> 'street') as street,
        (payload -> 'address' ->> 'number')::integer as street_number,
        trim(payload -> 'address' ->> 'zipcode') as zipcode,
        nullif(trim(payload -> 'address' -> 'geolocation' ->> 'lat'), '')::numeric(9, 6) as latitude,
        nullif(trim(payload -> 'address' -> 'geolocation' ->> 'long'), '')::numeric(9, 6) as longitude,
        {{ bronze_lineage_columns() }}
    from source

)

select * from renamed
