-- Coverage has three dimensions: what is covered (coverage type), where (chain) and, for depeg
-- cover, which stablecoin. Existing policies are on TON; their coverage types are kept.

CREATE TABLE coverage_types (
    coverage_type  text PRIMARY KEY CHECK (coverage_type ~ '^[a-z][a-z0-9_]*$'),
    description    text NOT NULL
);

INSERT INTO coverage_types (coverage_type, description) VALUES
    ('depeg',          'Stablecoin trades below its peg beyond the trigger for the trigger window'),
    ('smart_contract', 'Exploit of a covered smart contract'),
    ('oracle',         'Oracle failure or manipulation'),
    ('bridge',         'Bridge halt or exploit'),
    ('cex_liquidation','Forced liquidation on a centralized exchange');

-- Coverage types already used by policies stay valid.
INSERT INTO coverage_types (coverage_type, description)
SELECT DISTINCT p.coverage_type, 'Coverage type in use before coverage dimensions'
  FROM policies p
 WHERE NOT EXISTS (SELECT 1 FROM coverage_types c WHERE c.coverage_type = p.coverage_type);

CREATE TABLE chains (
    chain_id  smallint PRIMARY KEY,
    name      text NOT NULL UNIQUE CHECK (name ~ '^[a-z][a-z0-9_]*$')
);

INSERT INTO chains (chain_id, name) VALUES
    (1, 'ton'), (2, 'ethereum'), (3, 'arbitrum'), (4, 'base'), (5, 'polygon'),
    (6, 'optimism'), (7, 'bitcoin'), (8, 'lightning'), (9, 'solana');

CREATE TABLE stablecoins (
    stablecoin_id  smallint PRIMARY KEY,
    symbol         text NOT NULL UNIQUE,
    decimals       smallint NOT NULL CHECK (decimals BETWEEN 0 AND 18)
);

INSERT INTO stablecoins (stablecoin_id, symbol, decimals) VALUES
    (1, 'USDT', 6), (2, 'USDC', 6), (3, 'DAI', 18), (4, 'USDe', 18), (5, 'FDUSD', 18),
    (6, 'TUSD', 18), (7, 'PYUSD', 6), (8, 'USDD', 18), (9, 'FRAX', 18);

ALTER TABLE policies
    ADD COLUMN chain_id smallint NOT NULL DEFAULT 1 REFERENCES chains (chain_id),
    ADD COLUMN stablecoin_id smallint REFERENCES stablecoins (stablecoin_id),
    ADD CONSTRAINT policies_coverage_type_fkey FOREIGN KEY (coverage_type) REFERENCES coverage_types (coverage_type);

COMMENT ON COLUMN policies.stablecoin_id IS 'Covered stablecoin; set for depeg cover only';

CREATE INDEX policies_dimensions_idx ON policies (coverage_type, chain_id, stablecoin_id);
