-- The two databases on the server: the warehouse and Airflow's metadata.
-- Names come from psql variables so tests can use their own copies.
\set ON_ERROR_STOP on
\if :{?warehouse_db}
\else
\set warehouse_db warehouse
\endif
\if :{?airflow_db}
\else
\set airflow_db airflow
\endif

SELECT format('CREATE DATABASE %I', d)
FROM unnest(array[:'warehouse_db', :'airflow_db']) AS d
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = d)
\gexec
