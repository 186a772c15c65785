#!/usr/bin/python
# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: monitoring_provision
short_description: Provision the alert rules and dashboards as files or as ConfigMaps
description:
  - Renders the collection's Prometheus alert rules and Grafana dashboards, with a Prometheus configuration that
    scrapes the on-chain exporter and Grafana provisioning files, from O(sources_dir).
  - With O(target=files), writes them under O(dest) and removes rule files and dashboards the collection no longer
    ships. Unchanged files are left alone.
  - With O(target=kubernetes), applies the ConfigMap C(tonsurance-alert-rules) (label C(prometheus_rule=1)) and
    C(tonsurance-dashboards) (label C(grafana_dashboard=1), for Grafana's dashboard sidecar) in O(namespace), and,
    when O(exporter_image) is set, the exporter's ConfigMap, Deployment and Service.
version_added: 0.1.0
author: Tonsurance contributors (!UNKNOWN)
extends_documentation_fragment:
  - tonsurance.deploy.attributes
options:
  target:
    description: Where the monitoring goes.
    type: str
    required: true
    choices: [files, kubernetes]
  network:
    description: Network of the deployment; the C(network) label of the exporter's series.
    type: str
    required: true
    choices: [local, testnet, mainnet]
  sources_dir:
    description: Directory holding C(rules/*.yml) and C(dashboards/*.json) (the collection's C(monitoring/)).
    type: path
    required: true
  dest:
    description: Directory of the provisioned files. Required with O(target=files).
    type: path
  exporter_target:
    description: HOST:PORT of the exporter that the rendered Prometheus configuration scrapes.
    type: str
    default: 127.0.0.1:9464
  scrape_interval:
    description: Prometheus scrape interval of the rendered configuration.
    type: str
    default: 30s
  evaluation_interval:
    description: Prometheus rule evaluation interval of the rendered configuration.
    type: str
    default: 30s
  prometheus_url:
    description: URL of the Prometheus that the provisioned Grafana data source points at.
    type: str
    default: http://127.0.0.1:9090
  namespace:
    description: Namespace of the objects, which must exist. Used with O(target=kubernetes).
    type: str
    default: tonsurance-monitoring
  kubeconfig:
    description: Kubeconfig file; without it the in-cluster service account or C(~/.kube/config) is used.
    type: path
  context:
    description: Kubeconfig context; without it the current one is used.
    type: str
  exporter_image:
    description:
      - Image holding the collection and its Python dependencies, whose entry point is
        C(scripts/tonsurance_exporter.py). Without it no exporter is deployed to the cluster.
    type: str
  exporter_port:
    description: Port the exporter serves C(/metrics) on in the cluster.
    type: int
    default: 9464
  record:
    description: Deployment record whose addresses the in-cluster exporter reads. Required with O(exporter_image).
    type: path
  lite_config:
    description: Global-config file of the liteservers, mounted into the exporter. Required with O(exporter_image).
    type: path
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - Prometheus and Grafana are not restarted or reloaded; Grafana's file provider rereads dashboards every minute,
    Prometheus needs a reload (SIGHUP or C(/-/reload)) to pick up changed rules.
  - The cluster target compares a content hash annotation (C(tonsurance.io/content-sha256)) with the live object,
    so an object edited by hand without touching that annotation is not corrected until the sources change.
  - The cluster target has been tested against rendered manifests only, not against a live API server.
  - In a cluster the exporter reads through liteservers only; the sandbox chain stays on the control node.
"""

EXAMPLES = r"""
- name: Preview the local monitoring files
  tonsurance.deploy.monitoring_provision:
    target: files
    network: local
    sources_dir: "{{ playbook_dir }}/../monitoring"
    dest: "{{ playbook_dir }}/../.state/local/monitoring"
  check_mode: true
  diff: true

- name: Provision rules, dashboards and the exporter in the testnet cluster
  tonsurance.deploy.monitoring_provision:
    target: kubernetes
    network: testnet
    sources_dir: "{{ playbook_dir }}/../monitoring"
    namespace: tonsurance-testnet
    exporter_image: registry.example.org/tonsurance/exporter:0.1.0
    record: deployments/testnet-20261203.json
    lite_config: /etc/tonsurance/testnet-global.config.json
"""

RETURN = r"""
files:
  description: Each provisioned file (relative to O(dest)) with what happened to it.
  returned: when O(target=files)
  type: list
  elements: dict
  sample:
    - {path: prometheus/rules/protocol.yml, action: unchanged}
    - {path: grafana/dashboards/vault-analytics.json, action: updated}
objects:
  description: Each cluster object with what happened to it.
  returned: when O(target=kubernetes)
  type: list
  elements: dict
  sample:
    - {kind: ConfigMap, name: tonsurance-alert-rules, action: created}
    - {kind: Deployment, name: tonsurance-exporter, action: unchanged}
"""

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.tonsurance.deploy.plugins.module_utils._monitoring import kube, provision
from ansible_collections.tonsurance.deploy.plugins.module_utils._monitoring.errors import ProvisionError


def read_text(path, what):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise ProvisionError(f"cannot read {what} {path}: {exc.strerror}") from exc


def provision_files(module, params):
    bundle = provision.render(params["sources_dir"], params["network"], params["dest"], params["exporter_target"],
                              params["scrape_interval"], params["evaluation_interval"], params["prometheus_url"])
    plan = provision.plan_files(params["dest"], bundle)
    if not module.check_mode:
        provision.apply_files(params["dest"], plan)
    changed = [entry for entry in plan if entry[1] != "unchanged"]
    result = dict(changed=bool(changed), files=[dict(path=p, action=a) for p, a, _before, _after in plan])
    if module._diff and changed:
        result["diff"] = [_diff(os.path.join(params["dest"], p), before or "", after or "")
                          for p, _action, before, after in changed]
    return result


def provision_cluster(module, params):
    rules, dashboards = provision.sources(params["sources_dir"])
    record_text = lite_text = None
    if params["exporter_image"]:
        if not params["record"] or not params["lite_config"]:
            raise ProvisionError("exporter_image needs record and lite_config")
        record_text = read_text(params["record"], "deployment record")
        lite_text = read_text(params["lite_config"], "liteserver config")
    objects = kube.manifests(params["network"], params["namespace"], rules, dashboards, params["exporter_image"],
                             params["exporter_port"], record_text, lite_text)
    api_client = kube.connect(params["kubeconfig"], params["context"])
    report = kube.apply(api_client, objects, module.check_mode)
    changed = [entry for entry in report if entry[2] != "unchanged"]
    result = dict(changed=bool(changed), objects=[dict(kind=k, name=n, action=a) for k, n, a, _before, _after in report])
    if module._diff and changed:
        result["diff"] = [_diff(f"{k} {params['namespace']}/{n}", _show(before), _show(after))
                          for k, n, _action, before, after in changed]
    return result


def _diff(header, before, after):
    return dict(before_header=header, after_header=header, before=before, after=after)


def _show(data):
    """ConfigMap data as text, one key after the other, for --diff."""
    if not data:
        return ""
    return "".join(f"--- {key}\n{value}" + ("" if value.endswith("\n") else "\n")
                   for key, value in sorted(data.items()))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            target=dict(type="str", required=True, choices=["files", "kubernetes"]),
            network=dict(type="str", required=True, choices=["local", "testnet", "mainnet"]),
            sources_dir=dict(type="path", required=True),
            dest=dict(type="path"),
            exporter_target=dict(type="str", default="127.0.0.1:9464"),
            scrape_interval=dict(type="str", default="30s"),
            evaluation_interval=dict(type="str", default="30s"),
            prometheus_url=dict(type="str", default="http://127.0.0.1:9090"),
            namespace=dict(type="str", default="tonsurance-monitoring"),
            kubeconfig=dict(type="path"),
            context=dict(type="str"),
            exporter_image=dict(type="str"),
            exporter_port=dict(type="int", default=9464),
            record=dict(type="path"),
            lite_config=dict(type="path"),
        ),
        required_if=[("target", "files", ["dest"])],
        supports_check_mode=True,
    )
    params = module.params
    if provision.YAML_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=provision.YAML_IMPORT_ERROR)

    try:
        if params["target"] == "files":
            result = provision_files(module, params)
        else:
            result = provision_cluster(module, params)
    except ProvisionError as exc:
        where = params["dest"] if params["target"] == "files" else f"namespace {params['namespace']}"
        module.fail_json(msg=f"monitoring for {params['network']} ({where}): {exc}")

    module.exit_json(**result)


if __name__ == "__main__":
    main()
