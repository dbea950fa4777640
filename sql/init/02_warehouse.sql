-- Schemas, privileges and audit tables of the warehouse database. Safe to re-apply.
\set ON_ERROR_STOP on
\if :{?warehouse_db}
\else
\set warehouse_db warehouse
\endif
\connect :"warehouse_db"

REVOKE ALL ON DATABASE :"warehouse_db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"warehouse_db" TO loader, transformer;
GRANT CONNECT ON DATABASE :"warehouse_db" TO bi_reader;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

CREATE SCHEMA IF NOT EXISTS bronze AUTHORIZATION loader;
CREATE SCHEMA IF NOT EXISTS audit AUTHORIZATION loader;
CREATE SCHEMA IF NOT EXISTS staging AUTHORIZATION transformer;
CREATE SCHEMA IF NOT EXISTS intermediate AUTHORIZATION transformer;
CREATE SCHEMA IF NOT EXISTS core AUTHORIZATION transformer;
CREATE SCHEMA IF NOT EXISTS marts AUTHORIZATION transformer;

-- The transformer reads what the loader lands, including tables created later.
GRANT USAGE ON SCHEMA bronze, audit TO transformer;
GRANT SELECT ON ALL TABLES IN SCHEMA bronze, audit TO transformer;
ALTER DEFAULT PRIVILEGES FOR ROLE loader IN SCHEMA bronze, audit GRANT SELECT ON TABLES TO transformer;

-- BI tools see the marts only.
GRANT USAGE ON SCHEMA marts TO bi_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA marts TO bi_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE transformer IN SCHEMA marts GRANT SELECT ON TABLES TO bi_reader;

-- PostgreSQL lets PUBLIC execute every new function, and a SECURITY DEFINER one runs with its owner's
-- rights: a function in marts would let bi_reader act as the transformer, one in bronze the transformer
-- as the loader. Functions are executable by their owner only unless granted explicitly.
ALTER DEFAULT PRIVILEGES FOR ROLE loader, transformer REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA bronze, audit, staging, intermediate, core, marts FROM PUBLIC;

SET ROLE loader;

-- One row per ingestion attempt of one source entity for one data interval.
CREATE TABLE IF NOT EXISTS audit.ingestion_runs (
    run_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source          text        NOT NULL,
    entity          text        NOT NULL,
    batch_id        text        NOT NULL,
    interval_start  timestamptz,
    interval_end    timestamptz,
    stage           text        NOT NULL CHECK (stage IN ('extract', 'load')),
    status          text        NOT NULL CHECK (status IN ('running', 'success', 'failed')),
    extracted_count bigint,
    valid_count     bigint,
    rejected_count  bigint,
    loaded_count    bigint,
    lake_uri        text,
    started_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at     timestamptz,
    duration_s      double precision GENERATED ALWAYS AS (extract(epoch FROM finished_at - started_at)) STORED,
    error           text
);
-- The server process of the attempt: a 'running' row whose process is gone was abandoned (killed worker,
-- lost connection, server restart) and is marked failed by the next attempt at the same batch.
ALTER TABLE audit.ingestion_runs ADD COLUMN IF NOT EXISTS backend_pid integer;
-- A load from the lake's objects without an extraction (make replay, the lake_replay DAG): it checked no source.
ALTER TABLE audit.ingestion_runs ADD COLUMN IF NOT EXISTS replay boolean NOT NULL DEFAULT false;
CREATE INDEX IF NOT EXISTS ingestion_runs_batch_idx ON audit.ingestion_runs (source, entity, batch_id);

-- Extraction state of the windowed entities (those asked only for records dated in a window): the window
-- each loaded batch asked for, written in the transaction that loads the batch. window_start is null for
-- the whole history (a first load or a full refresh).
CREATE TABLE IF NOT EXISTS audit.extraction_windows (
    source       text        NOT NULL,
    entity       text        NOT NULL,
    batch_id     text        NOT NULL,
    window_start timestamptz,
    window_end   timestamptz NOT NULL,
    loaded_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (source, entity, batch_id),
    CHECK (window_start < window_end)
);
-- The cursor (high-water mark) of each windowed entity: every record dated before it was asked for and loaded.
CREATE OR REPLACE VIEW audit.extraction_state AS
SELECT
    source,
    entity,
    max(window_end) AS cursor_value,
    count(*)        AS batches,
    max(loaded_at)  AS last_loaded_at
FROM audit.extraction_windows
GROUP BY source, entity;

-- Records that failed validation, with the reason; replaced per batch like bronze.
CREATE TABLE IF NOT EXISTS audit.rejected_records (
    source      text        NOT NULL,
    entity      text        NOT NULL,
    batch_id    text        NOT NULL,
    record_no   integer     NOT NULL,
    reason      text        NOT NULL,
    path        text        NOT NULL,
    payload     jsonb,
    raw_text    text,
    lake_uri    text        NOT NULL,
    rejected_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, entity, batch_id, record_no)
);

RESET ROLE;
