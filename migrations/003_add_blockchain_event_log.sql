-- The on-chain event log the keepers write: one row per contract event seen on a chain. It is a
-- time series, so it becomes a TimescaleDB hypertable where that extension is available and stays
-- a plain table elsewhere. Unique keys include the time column, as hypertables require.

CREATE FUNCTION tonsurance_timeseries(target regclass, time_column name) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    installed boolean;
BEGIN
    SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') INTO installed;
    IF NOT installed
       AND EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')
       AND current_setting('shared_preload_libraries') LIKE '%timescaledb%' THEN
        BEGIN
            CREATE EXTENSION IF NOT EXISTS timescaledb;
            installed := true;
        EXCEPTION WHEN insufficient_privilege OR feature_not_supported THEN
            RAISE NOTICE 'timescaledb is available but cannot be created by %: %', current_user, SQLERRM;
        END;
    END IF;
    IF installed THEN
        EXECUTE format('SELECT create_hypertable(%L::regclass, %L::name, if_not_exists => true, migrate_data => true)',
                       target, time_column);
        RAISE NOTICE '% is a TimescaleDB hypertable on %', target, time_column;
        RETURN 'hypertable';
    END IF;
    RAISE NOTICE '% stays a plain table: timescaledb is not available', target;
    RETURN 'plain';
END
$$;

COMMENT ON FUNCTION tonsurance_timeseries(regclass, name) IS
    'Make a time-series table a TimescaleDB hypertable when the extension is available';

CREATE TABLE blockchain_events (
    event_id      bigint GENERATED ALWAYS AS IDENTITY,
    observed_at   timestamptz NOT NULL,
    chain_id      smallint NOT NULL REFERENCES chains (chain_id),
    contract      text NOT NULL,
    event_type    text NOT NULL CHECK (event_type ~ '^[a-z][a-z0-9_]*$'),
    tx_hash       text NOT NULL,
    logical_time  numeric(20, 0),
    policy_id     bigint,
    payload       jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (observed_at, event_id),
    UNIQUE (chain_id, tx_hash, event_type, observed_at)
);

COMMENT ON COLUMN blockchain_events.logical_time IS 'Logical time of the transaction on TON chains';

CREATE INDEX blockchain_events_contract_idx ON blockchain_events (contract, observed_at DESC);
CREATE INDEX blockchain_events_policy_idx ON blockchain_events (policy_id, observed_at DESC)
    WHERE policy_id IS NOT NULL;

SELECT tonsurance_timeseries('blockchain_events', 'observed_at');
