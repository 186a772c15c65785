"""The exporter's pure parts: metric families from readings, utilization, record lookup, arguments."""

import json
import math
import os

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry

from ansible_collections.tonsurance.deploy.plugins.module_utils._monitoring import exporter, records
from ansible_collections.tonsurance.deploy.plugins.module_utils._monitoring.errors import RecordError
from monitoring_support import catalogue

TON = 10**9
READINGS = {
    "MultiTrancheVault": {"get_total_capital": 1000 * TON, "get_coverage_sold": 250 * TON,
                          "get_utilization_bps": 2500, "get_paused": 0},
    "PricingOracle": {"get_last_update": 1796300000},
    "PolicyFactory": {"get_policies_created": 3},
    "PolicyRouter": {"get_policies_routed": 2, "get_paused": -1},
}


class Fixed:
    def __init__(self, families):
        self.families = families

    def collect(self):
        return iter(self.families)


def scrape(readings, failures=None, network="testnet"):
    registry = CollectorRegistry()
    registry.register(Fixed(exporter.families(network, readings, failures or {}, 0.25)))
    text = generate_latest(registry).decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return text, samples


def test_scrape_carries_every_value_with_the_network_label():
    _text, samples = scrape(READINGS)
    net = (("network", "testnet"),)
    assert samples[("vault_total_capital", net)] == 1000.0
    assert samples[("vault_total_coverage_sold", net)] == 250.0
    assert samples[("vault_utilization_ratio", net)] == 0.25
    assert samples[("pricing_oracle_last_update_timestamp", net)] == 1796300000
    assert samples[("policy_creation_total", net)] == 3
    assert samples[("policy_routed_total", net)] == 2
    assert samples[("tonsurance_contract_paused", (("contract", "MultiTrancheVault"), ("network", "testnet")))] == 0
    assert samples[("tonsurance_contract_paused", (("contract", "PolicyRouter"), ("network", "testnet")))] == 1
    for contract in exporter.READS:
        assert samples[("tonsurance_exporter_read_success", (("contract", contract), ("network", "testnet")))] == 1
    assert samples[("tonsurance_exporter_read_duration_seconds", net)] == 0.25


def test_counters_are_typed_as_counters():
    text, _samples = scrape(READINGS)
    assert "# TYPE policy_creation_total counter" in text
    assert "# TYPE policy_routed_total counter" in text


def test_a_failed_contract_publishes_no_value_only_its_failure():
    readings = {k: v for k, v in READINGS.items() if k != "PricingOracle"}
    _text, samples = scrape(readings, {"PricingOracle": "no liteserver answered"})
    assert not any(name == "pricing_oracle_last_update_timestamp" for name, _labels in samples)
    assert samples[("tonsurance_exporter_read_success", (("contract", "PricingOracle"), ("network", "testnet")))] == 0
    assert samples[("vault_total_capital", (("network", "testnet"),))] == 1000.0


def test_nothing_readable_still_answers_with_read_failures():
    _text, samples = scrape({}, {contract: "record missing" for contract in exporter.READS})
    names = {name for name, _labels in samples}
    assert names == {"tonsurance_exporter_read_success", "tonsurance_exporter_read_duration_seconds"}


@pytest.mark.parametrize("capital,coverage,bps,expected", [
    (1000 * TON, 250 * TON, 2500, 0.25),
    (3 * TON, 1 * TON, 3333, 0.3333),
    (0, 0, 0, 0.0),
    (0, 5 * TON, 0, math.inf),
    (10 * TON, 12 * TON, 12000, 1.2),
])
def test_utilization_trusts_the_vault_but_not_its_zero_on_zero_capital(capital, coverage, bps, expected):
    assert exporter.utilization(capital, coverage, bps) == expected


def test_values_of_spells_infinity_for_json():
    readings = dict(READINGS, MultiTrancheVault=dict(READINGS["MultiTrancheVault"], get_total_capital=0))
    values = exporter.values_of(readings)
    assert values["vault_utilization_ratio"] == "+Inf"
    json.dumps(values)


def test_exported_names_match_the_catalogue():
    listed = {name for name, entry in catalogue().items() if entry["source"] == "exporter"}
    assert set(exporter.EXPORTED) == listed
    _text, samples = scrape(READINGS)
    assert {name for name, _labels in samples} == listed
    for name in listed:
        labels = {label for sample, labelset in samples if sample == name for label, _value in labelset}
        assert labels == set(catalogue()[name]["labels"]), name


def write_record(directory, name, contracts, network="testnet"):
    path = os.path.join(directory, name)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"network": network, "contracts": contracts}, handle)
    return path


CONTRACTS = [{"label": name, "contract": name, "address_raw": f"0:{index:064x}"}
             for index, name in enumerate(records.CONTRACTS, start=1)]


def test_latest_record_is_the_newest_dated_one_of_the_network(tmp_path):
    for name in ("testnet-20261101.json", "testnet-20261203.json", "testnet-20261203.101500.json",
                 "mainnet-20261231.json", "testnet-notes.json"):
        write_record(str(tmp_path), name, CONTRACTS)
    assert records.latest_record(str(tmp_path), "testnet") == os.path.join(str(tmp_path), "testnet-20261203.json")


def test_latest_record_names_the_missing_record(tmp_path):
    with pytest.raises(RecordError, match="no deployment record local-<YYYYMMDD>.json"):
        records.latest_record(str(tmp_path), "local")
    with pytest.raises(RecordError, match="no deployment record local-<YYYYMMDD>.json in .*absent"):
        records.latest_record(str(tmp_path / "absent"), "local")


def test_contract_addresses_take_the_four_read_contracts():
    extra = CONTRACTS + [{"label": "PolicyShard[0]", "contract": "PolicyShard", "address_raw": "0:" + "ee" * 32}]
    found = records.contract_addresses({"contracts": extra})
    assert set(found) == set(records.CONTRACTS)
    assert found["PricingOracle"] == CONTRACTS[1]["address_raw"]


def test_contract_addresses_refuse_missing_and_doubled_contracts():
    with pytest.raises(RecordError, match="lacks PolicyRouter"):
        records.contract_addresses({"contracts": CONTRACTS[:3]})
    with pytest.raises(RecordError, match="more than once"):
        records.contract_addresses({"contracts": CONTRACTS + CONTRACTS[:1]})


def test_source_refuses_a_record_of_another_network(tmp_path):
    path = write_record(str(tmp_path), "testnet-20261203.json", CONTRACTS, network="mainnet")
    source = exporter.ChainSource("testnet", "lite", lite_config="/nonexistent", record=path)
    with pytest.raises(RecordError, match="is for mainnet, not testnet"):
        source.addresses()


def test_source_refuses_sandbox_for_mainnet_and_needs_one_record_option():
    from ansible_collections.tonsurance.deploy.plugins.module_utils._ton.errors import ConfigError

    with pytest.raises(ConfigError, match="mainnet"):
        exporter.ChainSource("mainnet", "sandbox", sandbox_state="x", record="r")
    with pytest.raises(ConfigError, match="exactly one"):
        exporter.ChainSource("testnet", "lite", lite_config="c", record="r", records_dir="d")
    with pytest.raises(ConfigError, match="exactly one"):
        exporter.ChainSource("testnet", "lite", lite_config="c")


def test_listen_argument():
    assert exporter.parse_listen("127.0.0.1:9464") == ("127.0.0.1", 9464)
    assert exporter.parse_listen("[::1]:9000") == ("::1", 9000)
    args = exporter.parse_args(["--network", "local", "--records-dir", "d", "--once"])
    assert args.listen == ("127.0.0.1", exporter.DEFAULT_PORT) and args.once
    with pytest.raises(SystemExit):
        exporter.parse_args(["--network", "local", "--record", "r", "--records-dir", "d"])
