{{ config(
    materialized='incremental',
    unique_key='customer_id',
    incremental_strategy='merge',
    on_schema_change='fail',
    indexes=[{'columns': ['customer_id'], 'unique': true}],
) }}
{%- if is_incremental() %}
    {%- set watermark = incremental_watermark('last_loaded_at') %}
    {%- set changed_customers_query %}
        select user_id from {{ ref('fct_carts') }} where loaded_at > {{ watermark }}
        union
        select user_id from {{ ref('dim_users') }} where is_current and loaded_at > {{ watermark }}
        union
        -- customers whose cart count no longer matches fct_carts (a cart changed hands)
        select coalesce(fact_carts.user_id, stored_customers.customer_id)
        from (select user_id, count(*) as carts from {{ ref('fct_carts') }} group by user_id) as fact_carts
        full outer join {{ this }} as stored_customers
            on fact_carts.user_id = stored_customers.customer_id
        where coalesce(fact_carts.carts, 0) != coalesce(stored_customers.carts, 0)
    {%- endset %}
    {%- set customers = keys_to_rebuild(changed_customers_query, 'integer') %}
{%- endif %}
-- Per customer, without PII: only the id and the current city are exposed.
-- Incremental (merge on customer_id): a run recomputes the customers with a cart loaded or recomputed since
-- its last run (last_loaded_at is the watermark), a new current version, or a cart count that no longer
-- matches fct_carts (a cart changed hands).
with

users as (

    {{ rows_to_rebuild(ref('dim_users'), 'user_id', customers) }}

),

current_users as (

    select * from users
    where is_current

),

carts as (

    {{ rows_to_rebuild(ref('fct_carts'), 'user_id', customers) }}

),

customer_carts as (

    select
        user_id,
        min(cart_date) as first_cart_date,
        max(cart_date) as last_cart_date,
        count(*) as carts,
        sum(total_quantity) as units,
        sum(revenue) as revenue,
        count(distinct cart_date) as days_active,
        max(loaded_at) as loaded_at
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
        coalesce(customer_carts.days_active, 0) as days_active,
        greatest(current_users.loaded_at, customer_carts.loaded_at) as last_loaded_at
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
        days_active::bigint as days_active,
        last_loaded_at
    from joined

)

select * from final
