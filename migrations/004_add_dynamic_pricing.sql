-- Dynamic pricing: the PricingOracle's rate updates per product (coverage type, chain, stablecoin)
-- as a time series, the exposure the protocol carries per product, and the rate a policy was sold at.

CREATE TABLE pricing_oracle_updates (
    update_id            bigint GENERATED ALWAYS AS IDENTITY,
    observed_at          timestamptz NOT NULL,
    coverage_type        text NOT NULL REFERENCES coverage_types (coverage_type),
    chain_id             smallint NOT NULL REFERENCES chains (chain_id),
    stablecoin_id        smallint REFERENCES stablecoins (stablecoin_id),
    base_rate_bps        integer NOT NULL CHECK (base_rate_bps >= 0),
    risk_multiplier_bps  integer NOT NULL DEFAULT 10000 CHECK (risk_multiplier_bps > 0),
    hedge_cost_bps       integer NOT NULL DEFAULT 0 CHECK (hedge_cost_bps >= 0),
    source               text NOT NULL,
    oracle_tx            text CHECK (oracle_tx ~ '^[0-9a-f]{64}$'),
    PRIMARY KEY (observed_at, update_id)
);

CREATE INDEX pricing_oracle_updates_product_idx
    ON pricing_oracle_updates (coverage_type, chain_id, stablecoin_id, observed_at DESC);

CREATE TABLE product_exposure (
    exposure_id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    coverage_type           text NOT NULL REFERENCES coverage_types (coverage_type),
    chain_id                smallint NOT NULL REFERENCES chains (chain_id),
    stablecoin_id           smallint REFERENCES stablecoins (stablecoin_id),
    active_policies         integer NOT NULL DEFAULT 0 CHECK (active_policies >= 0),
    total_coverage_nanoton  numeric(40, 0) NOT NULL DEFAULT 0 CHECK (total_coverage_nanoton >= 0),
    max_exposure_nanoton    numeric(40, 0) CHECK (max_exposure_nanoton > 0),
    updated_at              timestamptz NOT NULL DEFAULT now()
);

-- One row per product; a product without a stablecoin counts as stablecoin 0.
CREATE UNIQUE INDEX product_exposure_product_key
    ON product_exposure (coverage_type, chain_id, COALESCE(stablecoin_id, 0));

INSERT INTO product_exposure (coverage_type, chain_id, stablecoin_id, active_policies, total_coverage_nanoton)
SELECT coverage_type, chain_id, stablecoin_id, count(*), sum(coverage_amount_nanoton)
  FROM policies
 WHERE status = 'active'
 GROUP BY coverage_type, chain_id, stablecoin_id;

ALTER TABLE policies ADD COLUMN premium_rate_bps integer CHECK (premium_rate_bps >= 0);

COMMENT ON COLUMN policies.premium_rate_bps IS 'Rate quoted by the PricingOracle when the policy was sold';

SELECT tonsurance_timeseries('pricing_oracle_updates', 'observed_at');
