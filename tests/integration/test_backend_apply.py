"""k8s_backend_apply and keeper_config against the emulated cluster."""

import json

from pytoniq_core import Address

from backend_fixtures import POLL, cluster_args, image, service_manifest, stable_deployment
from conftest import module

ORACLE_A = Address("0:" + "a1" * 32).to_str(is_user_friendly=True, is_bounceable=True, is_test_only=True)
ORACLE_B = Address("0:" + "b2" * 32).to_str(is_user_friendly=True, is_bounceable=True, is_test_only=True)
VAULT = Address("0:" + "c3" * 32).to_str(is_user_friendly=True, is_bounceable=True, is_test_only=True)


def with_secret_env(manifest, secret="tonsurance-database", key="url"):
    container = manifest["spec"]["template"]["spec"]["containers"][0]
    container["env"].append({"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}})
    return manifest


def apply(kubeconfig, namespace, manifests, check_mode=False, diff=False, **options):
    args = dict(cluster_args(kubeconfig, namespace), manifests=manifests, poll_interval=POLL, wait_timeout=60)
    args.update(options)
    return module("k8s_backend_apply", args, check_mode=check_mode, diff=diff)


def test_apply_creates_then_leaves_alone_and_check_mode_writes_nothing(kubeconfig, kube):
    namespace = "tonsurance-apply"
    kube.namespace(namespace)
    kube.secret(namespace, "tonsurance-database", ["url"])
    manifests = [with_secret_env(stable_deployment("api-v2", "1.4.2", 3)), service_manifest("api-v2")]

    planned = apply(kubeconfig, namespace, manifests, check_mode=True, diff=True)
    assert planned["changed"] and planned["namespace_action"] == "unchanged"
    assert {(o["kind"], o["action"]) for o in planned["objects"]} == {("Service", "created"), ("Deployment", "created")}
    assert "Deployment/api-v2" in planned["diff"]["after"]
    assert kube.deployment(namespace, "api-v2") is None and kube.service(namespace, "api-v2") is None

    created = apply(kubeconfig, namespace, manifests)
    assert created["changed"] and not created.get("failed"), created
    assert set(created["waited_seconds"]) == {"api-v2"}
    deployment = kube.deployment(namespace, "api-v2")
    assert deployment["spec"]["replicas"] == 3
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "tonsurance-database", "key": "url"}}} in env
    assert "c2VjcmV0" not in json.dumps(deployment), "a Secret's value must never reach a manifest"
    assert kube.images(namespace, "api-v2") == {image("api-v2", "1.4.2"): 3}
    assert kube.service(namespace, "api-v2")["spec"]["selector"] == {"app.kubernetes.io/name": "api-v2"}

    again = apply(kubeconfig, namespace, manifests)
    assert not again["changed"]
    assert {o["action"] for o in again["objects"]} == {"unchanged"}


def test_apply_leaves_the_image_to_the_rollout_and_removes_dropped_fields(kubeconfig, kube):
    namespace = "tonsurance-apply-update"
    kube.namespace(namespace)
    first = stable_deployment("websocket-v2", "2.0.0", 2)
    first["spec"]["template"]["spec"]["containers"][0]["env"].append({"name": "LOG_LEVEL", "value": "debug"})
    assert apply(kubeconfig, namespace, [first])["changed"]

    second = stable_deployment("websocket-v2", "2.1.0", 4)  # new tag and replica count, LOG_LEVEL dropped
    second["metadata"]["labels"]["team"] = "realtime"
    planned = apply(kubeconfig, namespace, [second], check_mode=True, diff=True)
    assert planned["changed"] and planned["objects"][0]["action"] == "updated"
    before = planned["diff"]["before"]["Deployment/websocket-v2"]
    assert "team" not in before["metadata"]["labels"]

    updated = apply(kubeconfig, namespace, [second])
    assert updated["changed"], updated
    live = kube.deployment(namespace, "websocket-v2")
    assert live["metadata"]["labels"]["team"] == "realtime"
    container = live["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == image("websocket-v2", "2.0.0"), "only the gated rollout changes images"
    assert live["spec"]["replicas"] == 2, "only the rollout changes the replica count of a live Deployment"
    assert [e["name"] for e in container["env"]] == ["NETWORK"]
    assert not apply(kubeconfig, namespace, [second])["changed"]


def test_apply_refuses_missing_secrets_and_secret_values(kubeconfig, kube):
    namespace = "tonsurance-apply-secrets"
    kube.namespace(namespace)
    kube.secret(namespace, "tonsurance-database", ["password"])
    manifest = with_secret_env(stable_deployment("ocaml-backend", "3.0.0", 1))
    manifest["spec"]["template"]["spec"]["containers"][0]["env"].append(
        {"name": "JWT", "valueFrom": {"secretKeyRef": {"name": "tonsurance-api", "key": "jwt"}}})

    missing = apply(kubeconfig, namespace, [manifest])
    assert missing["failed"] and not missing["changed"]
    assert "tonsurance-api" in missing["msg"] and "tonsurance-database/url" in missing["msg"]
    assert kube.deployment(namespace, "ocaml-backend") is None

    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}, "stringData": {"k": "v"}}
    refused = apply(kubeconfig, namespace, [secret])
    assert refused["failed"] and "never applied" in refused["msg"]

    literal = stable_deployment("ocaml-backend", "3.0.0", 1)
    literal["spec"]["template"]["spec"]["containers"][0]["env"].append({"name": "DATABASE_URL", "value": "pg://"})
    refused = apply(kubeconfig, namespace, [literal])
    assert refused["failed"] and "DATABASE_URL carries a literal value" in refused["msg"]
    assert "pg://" not in refused["msg"]


def keeper(name, oracle):
    manifest = stable_deployment(name, "0.9.0", 1)
    manifest["spec"]["template"]["spec"]["containers"][0]["env"] += [
        {"name": "ORACLE_ADDRESS", "value": oracle}, {"name": "VAULT_ADDRESS", "value": VAULT}]
    return manifest


def keeper_env(kube, namespace, name):
    deployment = kube.deployment(namespace, name)
    return {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}


def test_keepers_get_the_new_oracle_address(kubeconfig, kube):
    namespace = "tonsurance-keepers"
    kube.namespace(namespace)
    keepers = ["pricing-keeper", "bridge-health-keeper"]
    assert apply(kubeconfig, namespace, [keeper(name, ORACLE_A) for name in keepers])["changed"]
    args = dict(cluster_args(kubeconfig, namespace), keepers=keepers, poll_interval=POLL, wait_timeout=60,
                addresses={"ORACLE_ADDRESS": ORACLE_B, "VAULT_ADDRESS": VAULT})

    planned = module("keeper_config", args, check_mode=True, diff=True)
    assert planned["changed"]
    assert planned["diff"]["before"]["pricing-keeper"]["ORACLE_ADDRESS"] == ORACLE_A
    assert planned["diff"]["after"]["pricing-keeper"]["ORACLE_ADDRESS"] == ORACLE_B
    assert keeper_env(kube, namespace, "pricing-keeper")["ORACLE_ADDRESS"] == ORACLE_A

    pointed = module("keeper_config", args)
    assert pointed["changed"] and set(pointed["waited_seconds"]) == set(keepers), pointed
    for name in keepers:
        env = keeper_env(kube, namespace, name)
        assert env["ORACLE_ADDRESS"] == ORACLE_B and env["VAULT_ADDRESS"] == VAULT and env["NETWORK"] == "testnet"
        pods = kube.pods(namespace, **{"app.kubernetes.io/name": name})
        assert len(pods) == 1
        pod_env = {e["name"]: e.get("value") for e in pods[0]["spec"]["containers"][0]["env"]}
        assert pod_env["ORACLE_ADDRESS"] == ORACLE_B, "the running pod must carry the new address"

    assert not module("keeper_config", args)["changed"]
    raw = dict(args, addresses={"ORACLE_ADDRESS": "0:" + "b2" * 32, "VAULT_ADDRESS": VAULT})
    assert not module("keeper_config", raw)["changed"], "the raw form of the same address is the same address"

    bad = module("keeper_config", dict(args, addresses={"ORACLE_ADDRESS": "not-an-address"}))
    assert bad["failed"] and "ORACLE_ADDRESS=not-an-address is not a TON address" in bad["msg"]
