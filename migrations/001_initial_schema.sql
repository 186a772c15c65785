-- Policies sold through the PolicyFactory and liquidity deposited into the six SURE tranches.
-- Amounts are integer nanotons (numeric: jetton and TON amounts exceed bigint); addresses are raw
-- "workchain:hash" strings, the form the collection compares them in.

CREATE TABLE tranches (
    tranche_id      smallint PRIMARY KEY CHECK (tranche_id BETWEEN 1 AND 6),
    symbol          text NOT NULL UNIQUE,
    apy_min_bps     integer NOT NULL CHECK (apy_min_bps >= 0),
    apy_max_bps     integer NOT NULL,
    curve           smallint NOT NULL CHECK (curve BETWEEN 0 AND 5),
    allocation_bps  integer NOT NULL CHECK (allocation_bps BETWEEN 0 AND 10000),
    CHECK (apy_max_bps >= apy_min_bps)
);

COMMENT ON TABLE tranches IS 'The SURE tranches of MultiTrancheVault: APY floor and cap, curve kind, share of capital';

INSERT INTO tranches (tranche_id, symbol, apy_min_bps, apy_max_bps, curve, allocation_bps) VALUES
    (1, 'SURE-BTC',   400,  400, 0, 2500),
    (2, 'SURE-SNR',   650,  800, 1, 2000),
    (3, 'SURE-MEZZ',  900, 1500, 2, 1800),
    (4, 'SURE-JNR',  1250, 1600, 3, 1500),
    (5, 'SURE-JNR+', 1600, 2200, 4, 1200),
    (6, 'SURE-EQT',  1500, 2500, 5, 1000);

CREATE TABLE policies (
    policy_id                bigint PRIMARY KEY,
    policyholder             text NOT NULL CHECK (policyholder ~ '^-?[0-9]+:[0-9a-f]{64}$'),
    beneficiary              text CHECK (beneficiary ~ '^-?[0-9]+:[0-9a-f]{64}$'),
    coverage_type            text NOT NULL,
    coverage_amount_nanoton  numeric(40, 0) NOT NULL CHECK (coverage_amount_nanoton > 0),
    premium_nanoton          numeric(40, 0) NOT NULL CHECK (premium_nanoton >= 0),
    starts_at                timestamptz NOT NULL,
    expires_at               timestamptz NOT NULL,
    status                   text NOT NULL DEFAULT 'active'
                             CHECK (status IN ('pending', 'active', 'expired', 'claimed', 'cancelled')),
    shard_id                 smallint NOT NULL CHECK (shard_id >= 0),
    created_tx               text CHECK (created_tx ~ '^[0-9a-f]{64}$'),
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    CHECK (expires_at > starts_at)
);

COMMENT ON COLUMN policies.policy_id IS 'Id assigned on chain by the PolicyFactory';
COMMENT ON COLUMN policies.shard_id IS 'PolicyShard that holds the policy on chain';

CREATE INDEX policies_policyholder_idx ON policies (policyholder);
CREATE INDEX policies_status_expires_idx ON policies (status, expires_at);

CREATE TABLE lp_deposits (
    deposit_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tranche_id      smallint NOT NULL REFERENCES tranches (tranche_id),
    depositor       text NOT NULL CHECK (depositor ~ '^-?[0-9]+:[0-9a-f]{64}$'),
    amount_nanoton  numeric(40, 0) NOT NULL CHECK (amount_nanoton > 0),
    tokens_minted   numeric(40, 0) NOT NULL CHECK (tokens_minted >= 0),
    tx_hash         text NOT NULL UNIQUE CHECK (tx_hash ~ '^[0-9a-f]{64}$'),
    deposited_at    timestamptz NOT NULL,
    withdrawn_at    timestamptz,
    CHECK (withdrawn_at IS NULL OR withdrawn_at >= deposited_at)
);

CREATE INDEX lp_deposits_depositor_idx ON lp_deposits (depositor);
CREATE INDEX lp_deposits_tranche_time_idx ON lp_deposits (tranche_id, deposited_at);
