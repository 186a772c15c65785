"""Rendering of the monitoring bundle: files under a directory, and the ConfigMaps of a cluster."""

import os

import pytest
import yaml

from ansible_collections.tonsurance.deploy.plugins.module_utils._monitoring import kube, provision
from ansible_collections.tonsurance.deploy.plugins.module_utils._monitoring.errors import ProvisionError
from monitoring_support import DASHBOARDS, MONITORING, RULE_FILES


def read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def bundle(base="/srv/monitoring", network="testnet"):
    return provision.render(MONITORING, network, base, "127.0.0.1:9464", "15s", "30s", "http://prometheus:9090")


def test_bundle_holds_the_shipped_rules_and_dashboards_byte_for_byte():
    rendered = bundle()
    for path in RULE_FILES:
        assert rendered[f"prometheus/rules/{os.path.basename(path)}"] == read(path)
    for path in DASHBOARDS:
        assert rendered[f"grafana/dashboards/{os.path.basename(path)}"] == read(path)
    assert not any("/tests/" in key or key.endswith("_test.yml") for key in rendered), "unit tests are not shipped"


def test_prometheus_config_scrapes_the_exporter_and_loads_the_rules():
    config = yaml.safe_load(bundle()["prometheus/prometheus.yml"])
    assert config["rule_files"] == ["/srv/monitoring/prometheus/rules/*.yml"]
    assert config["global"]["scrape_interval"] == "15s"
    (job,) = config["scrape_configs"]
    assert job["job_name"] == "tonsurance-exporter", "the alert rules look for this job name"
    assert job["static_configs"] == [{"targets": ["127.0.0.1:9464"], "labels": {"network": "testnet"}}]


def test_grafana_provisioning_points_at_the_dashboards_and_prometheus():
    rendered = bundle()
    provider = yaml.safe_load(rendered["grafana/provisioning/dashboards/tonsurance.yml"])["providers"][0]
    assert provider["options"]["path"] == "/srv/monitoring/grafana/dashboards" and provider["folder"] == "Tonsurance"
    source = yaml.safe_load(rendered["grafana/provisioning/datasources/tonsurance.yml"])["datasources"][0]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"


def test_file_plan_creates_then_finds_nothing_to_do(tmp_path):
    base = str(tmp_path)
    rendered = bundle(base)
    first = provision.plan_files(base, rendered)
    assert {action for _path, action, _before, _after in first} == {"created"}
    provision.apply_files(base, first)
    second = provision.plan_files(base, rendered)
    assert {action for _path, action, _before, _after in second} == {"unchanged"}
    assert oct(os.stat(os.path.join(base, "prometheus", "prometheus.yml")).st_mode & 0o777) == "0o644"


def test_file_plan_updates_edits_and_removes_what_is_no_longer_shipped(tmp_path):
    base = str(tmp_path)
    rendered = bundle(base)
    provision.apply_files(base, provision.plan_files(base, rendered))
    with open(os.path.join(base, "prometheus", "rules", "protocol.yml"), "a", encoding="utf-8") as handle:
        handle.write("# edited by hand\n")
    for stale in ("prometheus/rules/old.yml", "grafana/dashboards/old.json", "grafana/dashboards/.keep"):
        with open(os.path.join(base, stale), "w", encoding="utf-8") as handle:
            handle.write("x")
    plan = {path: action for path, action, _before, _after in provision.plan_files(base, rendered)}
    assert plan["prometheus/rules/protocol.yml"] == "updated"
    assert plan["prometheus/rules/old.yml"] == plan["grafana/dashboards/old.json"] == "removed"
    assert "grafana/dashboards/.keep" not in plan
    provision.apply_files(base, provision.plan_files(base, rendered))
    assert not os.path.exists(os.path.join(base, "prometheus", "rules", "old.yml"))
    assert {action for _path, action, _before, _after in provision.plan_files(base, rendered)} == {"unchanged"}


def test_sources_refuse_a_broken_dashboard(tmp_path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "dashboards").mkdir()
    (tmp_path / "rules" / "a.yml").write_text("groups: []\n")
    (tmp_path / "dashboards" / "a.json").write_text("{not json")
    with pytest.raises(ProvisionError, match="a.json is not valid JSON"):
        provision.sources(str(tmp_path))


def objects(**exporter):
    rules, dashboards = provision.sources(MONITORING)
    return kube.manifests("testnet", "tonsurance-testnet", rules, dashboards, **exporter)


def by_name(items):
    return {(obj["kind"], obj["metadata"]["name"]): obj for obj in items}


def test_configmaps_carry_the_rules_and_dashboards_with_discovery_labels():
    found = by_name(objects())
    assert set(found) == {("ConfigMap", "tonsurance-alert-rules"), ("ConfigMap", "tonsurance-dashboards")}
    rules = found[("ConfigMap", "tonsurance-alert-rules")]
    assert rules["metadata"]["labels"]["prometheus_rule"] == "1"
    assert rules["data"] == {os.path.basename(p): read(p) for p in RULE_FILES}
    boards = found[("ConfigMap", "tonsurance-dashboards")]
    assert boards["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert boards["metadata"]["annotations"]["grafana_folder"] == "Tonsurance"
    assert boards["data"] == {os.path.basename(p): read(p) for p in DASHBOARDS}
    for obj in found.values():
        assert obj["metadata"]["namespace"] == "tonsurance-testnet"
        assert obj["metadata"]["labels"]["tonsurance.io/network"] == "testnet"
        assert len(obj["metadata"]["annotations"][kube.HASH_ANNOTATION]) == 64


def test_content_hash_is_stable_and_follows_the_content():
    first, again = objects(), objects()
    assert [o["metadata"]["annotations"][kube.HASH_ANNOTATION] for o in first] == \
        [o["metadata"]["annotations"][kube.HASH_ANNOTATION] for o in again]
    rules, dashboards = provision.sources(MONITORING)
    rules["protocol.yml"] += "# changed\n"
    changed = kube.manifests("testnet", "tonsurance-testnet", rules, dashboards)
    assert changed[0]["metadata"]["annotations"][kube.HASH_ANNOTATION] != \
        first[0]["metadata"]["annotations"][kube.HASH_ANNOTATION]
    assert changed[1]["metadata"]["annotations"] == first[1]["metadata"]["annotations"]


def test_exporter_objects_read_the_mounted_record_through_liteservers():
    found = by_name(objects(exporter_image="registry.example.org/exporter:1", exporter_port=9464,
                            record_text='{"network": "testnet"}', lite_config_text='{"liteservers": []}'))
    config = found[("ConfigMap", "tonsurance-exporter-config")]
    assert set(config["data"]) == {"record.json", "global.config.json"}
    deployment = found[("Deployment", "tonsurance-exporter")]
    pod = deployment["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert container["image"] == "registry.example.org/exporter:1"
    args = container["args"]
    assert args[args.index("--provider") + 1] == "lite" and args[args.index("--network") + 1] == "testnet"
    assert args[args.index("--record") + 1] == f"{kube.CONFIG_MOUNT}/record.json"
    assert container["volumeMounts"][0]["mountPath"] == kube.CONFIG_MOUNT
    assert pod["spec"]["volumes"][0]["configMap"]["name"] == "tonsurance-exporter-config"
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod["metadata"]["labels"].items()
    service = found[("Service", "tonsurance-exporter")]
    assert service["spec"]["selector"] == selector
    assert service["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_a_new_record_rolls_the_exporter_pod():
    def pod_hash(record):
        found = by_name(objects(exporter_image="img", record_text=record, lite_config_text="{}"))
        return found[("Deployment", "tonsurance-exporter")]["spec"]["template"]["metadata"]["annotations"][
            "tonsurance.io/config-sha256"]
    assert pod_hash('{"a": 1}') != pod_hash('{"a": 2}')


def test_exporter_needs_a_record_and_a_liteserver_config():
    with pytest.raises(ProvisionError, match="needs a deployment record and a liteserver config"):
        objects(exporter_image="img", record_text=None, lite_config_text="{}")


def test_cluster_target_fails_naming_the_object_when_no_api_server_answers(tmp_path):
    from conftest import module
    from monitoring_support import free_port

    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "nowhere",
        "clusters": [{"name": "nowhere", "cluster": {"server": f"http://127.0.0.1:{free_port()}"}}],
        "users": [{"name": "nobody", "user": {}}],
        "contexts": [{"name": "nowhere", "context": {"cluster": "nowhere", "user": "nobody"}}],
    }))
    result = module("monitoring_provision", dict(target="kubernetes", network="testnet", sources_dir=MONITORING,
                                                 namespace="tonsurance-testnet", kubeconfig=str(kubeconfig)),
                    check_mode=True)
    assert result["failed"]
    assert "ConfigMap tonsurance-testnet/tonsurance-alert-rules" in result["msg"]
    assert "did not answer" in result["msg"]


def test_cluster_target_refuses_an_exporter_without_its_record(tmp_path):
    from conftest import module

    result = module("monitoring_provision", dict(target="kubernetes", network="testnet", sources_dir=MONITORING,
                                                 exporter_image="img", lite_config=str(tmp_path / "c.json")))
    assert result["failed"] and "exporter_image needs record and lite_config" in result["msg"]
