-- The current version of each order: the one with the latest updated_at (shared by a batch), then the usual
-- batch recency as tie-break. Every batch re-sends every order, so all rows come from the latest batch; an
-- order missing from later batches keeps its last known state. Rebuilt from every version on each run (the
-- feed is small), so that its tests check the current orders before fct_orders merges them.
with

latest as (

    {{ latest_versions(ref('stg_orders__orders'), 'order_id', order_recency_columns()) }}

)

select * from latest
