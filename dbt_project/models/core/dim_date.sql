-- One row per calendar day, covering whole years around the first and last cart dates.
with

carts as (

    select * from {{ ref('int_fakestore__carts') }}

),

bounds as (

    select
        date_trunc('year', min(cart_date)::timestamp)::date as first_day,
        (
            date_trunc('year', max(cart_date)::timestamp) + interval '1 year' - interval '1 day'
        )::date as last_day
    from carts

),

spine as (

    select (bounds.first_day + day_offset)::date as date_day
    from bounds
    cross join lateral generate_series(0, bounds.last_day - bounds.first_day) as day_offset

),

final as (

    select
        date_day,
        extract(year from date_day)::integer as year,
        extract(quarter from date_day)::integer as quarter,
        extract(month from date_day)::integer as month,
        to_char(date_day::timestamp, 'FMMonth') as month_name,
        extract(day from date_day)::integer as day_of_month,
        extract(isodow from date_day)::integer as day_of_week,
        to_char(date_day::timestamp, 'FMDay') as day_name,
        extract(doy from date_day)::integer as day_of_year,
        extract(week from date_day)::integer as iso_week,
        extract(isoyear from date_day)::integer as iso_year,
        date_trunc('week', date_day::timestamp)::date as week_start_date,
        date_trunc('month', date_day::timestamp)::date as month_start_date,
        date_trunc('quarter', date_day::timestamp)::date as quarter_start_date,
        extract(isodow from date_day) in (6, 7) as is_weekend
    from spine

)

select * from final
