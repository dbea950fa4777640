-- Cluster-wide roles, created idempotently.
--   loader       writes the raw landing layers: bronze and audit
--   transformer  owns what dbt builds: staging, intermediate, core, marts (reads bronze)
--   bi_reader    reads the marts and nothing else
-- Passwords are optional psql variables (set them where clients log in with a password, e.g. Docker);
-- with trust or peer auth, sessions connect as an admin and SET ROLE instead.
\set ON_ERROR_STOP on

SELECT format('CREATE ROLE %I NOLOGIN', r)
FROM unnest(array['loader', 'transformer', 'bi_reader']) AS r
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r)
\gexec

\if :{?loader_password}
ALTER ROLE loader LOGIN PASSWORD :'loader_password';
\endif
\if :{?transformer_password}
ALTER ROLE transformer LOGIN PASSWORD :'transformer_password';
\endif
\if :{?bi_reader_password}
ALTER ROLE bi_reader LOGIN PASSWORD :'bi_reader_password';
\endif
