import json
import os

from conftest import module

ENTRY = {"label": "PricingOracle", "contract": "PricingOracle", "address": "kQA", "address_raw": "0:aa",
         "code_hash": "cc", "transaction": "tt", "fees_nanoton": 5, "spent_nanoton": 55, "value_nanoton": 50,
         "action": "deployed"}


def write(tmp_path, contracts, **extra):
    return module("deployment_record", dict(directory=str(tmp_path), network="testnet", contracts=contracts,
                                            commit="abc", **extra))


def test_record_is_written_then_left_alone_when_unchanged(tmp_path):
    first = write(tmp_path, [ENTRY])
    assert first["changed"] and os.path.exists(first["path"])
    with open(first["path"], encoding="utf-8") as handle:
        saved = json.load(handle)
    assert "action" not in saved["contracts"][0]
    again = write(tmp_path, [{k: v for k, v in ENTRY.items() if k not in ("transaction", "fees_nanoton")}])
    assert not again["changed"], "an entry seen earlier keeps its deploy facts"


def test_changed_record_keeps_the_previous_one(tmp_path):
    first = write(tmp_path, [ENTRY])
    with open(first["path"], encoding="utf-8") as handle:
        saved = json.load(handle)
    saved["generated_at"] = saved["generated_at"][:11] + "01:02:03+00:00"
    with open(first["path"], "w", encoding="utf-8") as handle:
        json.dump(saved, handle)
    second = write(tmp_path, [dict(ENTRY, code_hash="dd", address_raw="0:bb")])
    assert second["changed"] and second["previous"] != first["path"]
    assert os.path.exists(second["previous"]) and os.path.exists(second["path"])
    with open(second["previous"], encoding="utf-8") as handle:
        kept = json.load(handle)
    # The kept copy is named after the time it was generated, not the time it was replaced.
    assert kept["generated_at"].endswith("T01:02:03+00:00") and second["previous"].endswith(".010203.json")


def test_check_mode_writes_nothing(tmp_path):
    result = module("deployment_record", dict(directory=str(tmp_path), network="testnet", contracts=[ENTRY]),
                    check_mode=True)
    assert result["changed"] and not os.listdir(tmp_path)


def test_entry_without_address_is_refused(tmp_path):
    result = write(tmp_path, [{"label": "x"}])
    assert result.get("failed") and "entry 0" in result["msg"]


def test_extra_may_not_replace_core_fields(tmp_path):
    result = write(tmp_path, [ENTRY], extra={"network": "mainnet", "contracts": []})
    assert result.get("failed") and "contracts, network" in result["msg"]


def test_network_must_be_a_plain_name(tmp_path):
    result = module("deployment_record", dict(directory=str(tmp_path), network="../escape", contracts=[ENTRY]))
    assert result.get("failed") and "not a plain name" in result["msg"]
    assert not os.path.exists(tmp_path.parent / "escape-")


def test_directory_that_is_a_file_is_named(tmp_path):
    target = tmp_path / "records"
    target.write_text("x")
    result = module("deployment_record", dict(directory=str(target), network="testnet", contracts=[ENTRY]))
    assert result.get("failed") and "is not a directory" in result["msg"]


def test_sections_are_added_without_contracts_and_carried_forward(tmp_path):
    write(tmp_path, [ENTRY])
    backend = {"namespace": "tonsurance-testnet", "services": {"api-v2": {"image": "api-v2:1.5.0"}}}
    added = module("deployment_record", dict(directory=str(tmp_path), network="testnet", commit="abc",
                                             extra={"backend": backend}))
    assert added["changed"] and added["contract_count"] == 1
    with open(added["path"], encoding="utf-8") as handle:
        saved = json.load(handle)
    assert saved["backend"] == backend and saved["contracts"][0]["transaction"] == "tt"

    again = write(tmp_path, [ENTRY])
    assert not again["changed"], "a run of the contracts alone keeps the backend section"


def test_sections_without_any_record_are_refused(tmp_path):
    result = module("deployment_record", dict(directory=str(tmp_path), network="testnet", extra={"backend": {}}))
    assert result.get("failed") and "deploy the contracts first" in result["msg"]


def test_records_written_within_one_second_are_ordered_by_their_names(tmp_path):
    # A role that writes the record twice in one second leaves copies with the current file's own
    # generated_at; the day's own file is still the latest, and a higher serial is the newer copy.
    stamp = "2026-12-04T05:03:10+00:00"
    names = ["testnet-20261204.json", "testnet-20261204.050310-2.json", "testnet-20261204.050310.json",
             "testnet-20261204.050310-1.json", "testnet-20261204.050309.json"]
    for index, name in enumerate(names):
        document = {"network": "testnet", "generated_at": stamp if "050309" not in name else stamp[:17] + "09+00:00",
                    "commit": "abc", "contracts": [dict(ENTRY, address_raw=f"0:{index:02x}")]}
        with open(os.path.join(tmp_path, name), "w", encoding="utf-8") as handle:
            json.dump(document, handle)
    info = module("deployment_record_info", dict(directory=str(tmp_path), network="testnet"))
    order = [os.path.basename(r["path"]) for r in info["records"]]
    assert order == ["testnet-20261204.json", "testnet-20261204.050310-2.json", "testnet-20261204.050310-1.json",
                     "testnet-20261204.050310.json", "testnet-20261204.050309.json"]
    assert os.path.basename(info["previous"]["path"]) == "testnet-20261204.050310-2.json"
