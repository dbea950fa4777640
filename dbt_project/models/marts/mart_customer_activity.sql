-- Per customer, without PII: only the id and the current city are exposed.
with

users as (

    select * from {{ ref('dim_users') }}

),

carts as (

    select * from {{ ref('fct_carts') }}

),

current_users as (

    select * from users
    where is_current

),

customer_carts as (

    select
        user_id,
        min(cart_date) as first_cart_date,
        max(cart_date) as last_cart_date,
        count(*) as carts,
        sum(total_quantity) as units,
        sum(revenue) as revenue,
        count(distinct cart_date) as days_active
    from carts
    group by user_id

),

joined as (

    select
        coalesce(current_users.user_id, customer_carts.user_id) as customer_id,
        coalesce(current_users.city, 'unknown') as city,
        customer_carts.first_cart_date,
        customer_carts.last_cart_date,
        coalesce(customer_carts.carts, 0) as carts,
        coalesce(customer_carts.units, 0) as units,
        coalesce(customer_carts.revenue, 0) as revenue,
        coalesce(customer_carts.days_active, 0) as days_active
    from current_users
    full outer join customer_carts
        on current_users.user_id = customer_carts.user_id

),

final as (

    select
        customer_id,
        city,
        first_cart_date,
        last_cart_date,
        carts::bigint as carts,
        units::bigint as units,
        revenue::numeric(14, 2) as revenue,
        round(revenue / nullif(carts, 0), 2)::numeric(14, 2) as average_cart_value,
        days_active::bigint as days_active
    from joined

)

select * from final
