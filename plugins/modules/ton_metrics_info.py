#!/usr/bin/python
# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ton_metrics_info
short_description: Take one scrape of the on-chain exporter against a deployment
description:
  - Read-only. Reads the get-methods of the contracts named by a deployment record (vault capital, coverage
    and utilization, the oracle's last update, policies created and routed, pause flags) through the
    collection's chain providers, exactly as the exporter does on every scrape.
  - Returns the scrape as Prometheus text exposition and the values as numbers.
version_added: 0.1.0
author: Tonsurance contributors (!UNKNOWN)
extends_documentation_fragment:
  - tonsurance.deploy.provider
  - tonsurance.deploy.attributes
options:
  record:
    description:
      - A deployment record (C(<network>-<YYYYMMDD>.json)) naming the contracts.
      - Mutually exclusive with O(records_dir).
    type: path
  records_dir:
    description:
      - Directory of deployment records; the newest record of O(network) is used.
      - Mutually exclusive with O(record).
    type: path
  require_record:
    description:
      - Fail when there is no deployment record. With C(false) (a check-mode run before the first deploy), the
        module returns an empty RV(scrape) and says why.
    type: bool
    default: true
  fail_on_read_error:
    description:
      - Fail when a contract cannot be read. With C(false) the failures are returned and the scrape shows
        C(tonsurance_exporter_read_success 0) for those contracts.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
notes:
  - O(wait_timeout) is not used; nothing is sent.
  - The sandbox state is read without taking its lock, so a scrape never waits for a deploy in progress.
  - The exporter's metrics, the alert rules and the dashboards are described in C(docs/monitoring.md).
"""

EXAMPLES = r"""
- name: Print one scrape of the local deployment
  tonsurance.deploy.ton_metrics_info:
    network: local
    provider: sandbox
    sandbox_state: "{{ playbook_dir }}/../.state/local/chain.json"
    records_dir: "{{ playbook_dir }}/../deployments"
  register: scrape

- name: Read testnet through its liteservers, tolerating unreadable contracts
  tonsurance.deploy.ton_metrics_info:
    network: testnet
    provider: lite
    lite_config: /etc/tonsurance/testnet-global.config.json
    record: deployments/testnet-20261203.json
    fail_on_read_error: false
"""

RETURN = r"""
scrape:
  description: The scrape in Prometheus text exposition format.
  returned: always
  type: str
  sample: |
    # HELP vault_total_capital Capital recorded in MultiTrancheVault, in TON.
    # TYPE vault_total_capital gauge
    vault_total_capital{network="testnet"} 1000.0
values:
  description: Exported values by metric name; C(vault_utilization_ratio) is C(+Inf) for coverage on zero capital.
  returned: always
  type: dict
  sample:
    vault_total_capital: 1000.0
    vault_total_coverage_sold: 250.0
    vault_utilization_ratio: 0.25
    pricing_oracle_last_update_timestamp: 1796300000
    policy_creation_total: 3
    policy_routed_total: 3
failures:
  description: Contracts that could not be read, with the reason.
  returned: always
  type: dict
  sample:
    PricingOracle: "get-method get_last_update on 0:5e2f...ccdd failed with exit code -256"
record:
  description: The deployment record the addresses came from; empty when there is none yet.
  returned: always
  type: str
  sample: deployments/testnet-20261203.json
msg:
  description: Why the scrape is empty, when it is.
  returned: when there is no deployment record and O(require_record=false)
  type: str
  sample: no deployment record local-<YYYYMMDD>.json in deployments; deploy first
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.tonsurance.deploy.plugins.module_utils._ton import common

IMPORT_ERROR = None
try:
    from ansible_collections.tonsurance.deploy.plugins.module_utils._monitoring import exporter
    from ansible_collections.tonsurance.deploy.plugins.module_utils._monitoring.errors import (
        MonitoringError, RecordError,
    )
except ImportError:  # pytoniq or pytvm missing on the module's Python
    IMPORT_ERROR = traceback.format_exc()
else:
    IMPORT_ERROR = exporter.IMPORT_ERROR  # prometheus_client missing


def main():
    spec = dict(common.PROVIDER_ARGS)
    spec.update(
        record=dict(type="path"),
        records_dir=dict(type="path"),
        require_record=dict(type="bool", default=True),
        fail_on_read_error=dict(type="bool", default=True),
    )
    module = AnsibleModule(
        argument_spec=spec,
        mutually_exclusive=[("record", "records_dir")],
        required_one_of=[("record", "records_dir")],
        supports_check_mode=True,
    )
    if IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("prometheus_client, pytoniq and pytvm"), exception=IMPORT_ERROR)
    params = module.params

    try:
        source = exporter.ChainSource(params["network"], params["provider"], params["sandbox_state"],
                                      params["lite_config"], params["record"], params["records_dir"])
        source.addresses()
    except RecordError as exc:
        if params["require_record"]:
            module.fail_json(msg=f"cannot scrape {params['network']}: {exc}")
        module.exit_json(changed=False, scrape="", values={}, failures={}, record="", msg=str(exc))
    except (MonitoringError, common.TonError) as exc:
        module.fail_json(msg=f"cannot scrape {params['network']}: {exc}")

    scrape, readings, failures = exporter.scrape_once(source)

    result = dict(changed=False, scrape=scrape, values=exporter.values_of(readings), failures=failures,
                  record=source.record_path)
    if failures and params["fail_on_read_error"]:
        shown = "; ".join(f"{contract}: {reason}" for contract, reason in sorted(failures.items()))
        module.fail_json(msg=f"cannot read contracts on {params['network']}: {shown}", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
