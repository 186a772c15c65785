"""ton_contract spells out its contract names; they must stay the protocol's set."""

from ansible_collections.tonsurance.deploy.plugins.module_utils._ton import protocol
from ansible_collections.tonsurance.deploy.plugins.modules import ton_contract


def test_contract_name_choices_match_the_protocol_set():
    assert sorted(ton_contract.CONTRACT_NAMES) == sorted(protocol.CONTRACTS)
    assert ton_contract.argument_spec()["name"]["choices"] == ton_contract.CONTRACT_NAMES
