"""The pure parts of the Kubernetes helpers: step arithmetic, readiness verdicts, gate verdicts, manifests."""

import json

import pytest

from ansible_collections.tonsurance.deploy.plugins.module_utils._k8s import gate, manifests, rollout, waiter
from ansible_collections.tonsurance.deploy.plugins.module_utils._k8s.errors import ConfigError

IMAGE = "registry.tonsurance.io/tonsurance/api-v2:1.5.0"
OLD = "registry.tonsurance.io/tonsurance/api-v2:1.4.2"


@pytest.mark.parametrize("replicas, percent, expected", [
    (10, 20, (2, 8)), (10, 50, (5, 5)), (10, 100, (10, 0)), (4, 20, (1, 3)), (3, 50, (2, 1)), (1, 20, (1, 0)),
])
def test_split_runs_at_least_one_canary_pod_and_rounds_up(replicas, percent, expected):
    assert rollout.split(replicas, percent) == expected


@pytest.mark.parametrize("steps", [[], [20, 50], [50, 20, 100], [0, 100], [20, 20, 100], [20, 150], ["x", 100]])
def test_steps_must_increase_and_end_at_100(steps):
    with pytest.raises(ConfigError):
        rollout.validate_steps(steps)


@pytest.mark.parametrize("reference, tag", [
    (IMAGE, "1.5.0"), ("registry:5000/api-v2:2.0.1", "2.0.1"), ("registry:5000/api-v2", "latest"),
    ("api-v2:3@sha256:" + "ab" * 32, "3"),
])
def test_version_is_the_tag_of_the_image(reference, tag):
    assert rollout.version_of(reference) == tag


def deployment(generation=2, observed=2, spec_replicas=2, **status):
    counts = {"replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2}
    counts.update(status.pop("counts", {}))
    return {"metadata": {"name": "api-v2-canary", "generation": generation},
            "spec": {"replicas": spec_replicas, "selector": {"matchLabels": {"track": "canary"}},
                     "template": {"spec": {"containers": [{"name": "api-v2", "image": IMAGE}]}}},
            "status": dict(counts, observedGeneration=observed, **status)}


def pod(image=IMAGE, ready=True, terminating=False, waiting=None):
    metadata = {"name": "p", "labels": {"track": "canary"}}
    if terminating:
        metadata["deletionTimestamp"] = "2026-12-03T10:00:00Z"
    state = {"waiting": {"reason": waiting}} if waiting else {"running": {}}
    return {"metadata": metadata, "spec": {"containers": [{"name": "api-v2", "image": image}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                       "containerStatuses": [{"name": "api-v2", "state": state}]}}


def test_deployment_is_ready_when_status_and_pods_agree():
    assert waiter.assess(deployment(), [pod(), pod(), pod(OLD, terminating=True)], 2, IMAGE, "api-v2").ready


def test_a_status_that_lags_the_spec_is_not_ready():
    lagging = deployment(generation=3, observed=2)
    progress = waiter.assess(lagging, [pod(), pod()], 2, IMAGE, "api-v2")
    assert not progress.ready and "generation 3 observed 2" in progress.detail


def test_the_available_condition_alone_is_not_ready():
    available = deployment(counts={"updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1},
                           conditions=[{"type": "Available", "status": "True"}])
    assert not waiter.assess(available, [pod(), pod(ready=False)], 2, IMAGE, "api-v2").ready


def test_pods_on_another_image_keep_a_step_from_counting():
    assert not waiter.assess(deployment(), [pod(), pod(), pod(OLD)], 2, IMAGE, "api-v2").ready
    assert not waiter.assess(deployment(), [pod(), pod(OLD)], 2, IMAGE, "api-v2").ready


def test_progress_deadline_is_stuck_and_names_the_waiting_reason():
    stuck = deployment(counts={"readyReplicas": 0, "availableReplicas": 0}, conditions=[
        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "timed out"}])
    progress = waiter.assess(stuck, [pod(ready=False, waiting="ImagePullBackOff")] * 2, 2, IMAGE, "api-v2")
    assert progress.stuck == "timed out" and "ImagePullBackOff" in progress.detail


def test_a_deadline_of_an_older_generation_is_not_stuck_yet():
    older = deployment(generation=3, observed=2, conditions=[
        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}])
    assert waiter.assess(older, [], 2, IMAGE, "api-v2").stuck is None


def test_wait_uses_a_monotonic_deadline():
    class Frozen:
        def get(self, kind, name, namespace):
            return deployment(generation=5, observed=4)

        def list(self, kind, namespace, labels):
            return []

    ticks = iter(range(100))
    with pytest.raises(waiter.WaitTimeoutError, match="within 3 s"):
        waiter.wait_for(Frozen(), "ns", "api-v2", 2, IMAGE, "api-v2", timeout=3, poll_interval=1,
                        clock=lambda: float(next(ticks)), sleep=lambda seconds: None)


@pytest.mark.parametrize("measured, expected", [
    ({"request_rate": 20.0, "error_rate": 0.002, "latency_p99_ms": 250.0}, []),
    ({"request_rate": 20.0, "error_rate": 0.04, "latency_p99_ms": 250.0}, ["error rate 4.00% above 1.00%"]),
    ({"request_rate": 20.0, "error_rate": 0.0, "latency_p99_ms": 950.0}, ["p99 latency 950 ms above 500 ms"]),
    ({"request_rate": 0.0, "error_rate": None, "latency_p99_ms": None},
     ["no data: the new pods served no requests in the window"]),
    ({"request_rate": None, "error_rate": None, "latency_p99_ms": None},
     ["no data: the new pods served no requests in the window"]),
    ({"request_rate": 5.0, "error_rate": None, "latency_p99_ms": 100.0},
     ["no data: the error-rate query returned nothing"]),
    ({"request_rate": 5.0, "error_rate": 0.0, "latency_p99_ms": None, "latency_beyond_buckets": True},
     ["p99 latency beyond the largest histogram bucket"]),
])
def test_gate_fails_closed(measured, expected):
    assert gate.judge(measured, 0.01, 500) == expected


def test_gate_queries_take_only_the_known_placeholders():
    labels = dict(namespace="tonsurance-testnet", service="api-v2", version="1.5.0", window="5m")
    rendered = gate.render(gate.DEFAULT_QUERIES["error_rate"], labels)
    assert 'version="1.5.0"' in rendered and '[5m]' in rendered and 'code=~"5.."' in rendered
    with pytest.raises(ConfigError):
        gate.render("sum(x{pod=\"$pod\"})", labels)


def test_prometheus_url_must_be_http():
    with pytest.raises(ConfigError):
        gate.Prometheus("prometheus:9090")
    with pytest.raises(ConfigError):
        gate.Prometheus("")


def stable(image=OLD, replicas=10, **extra):
    document = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api-v2"},
                "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "api-v2"}},
                         "template": {"metadata": {"labels": {"app": "api-v2", manifests.VERSION_LABEL: "1"}},
                                      "spec": {"containers": [{"name": "api-v2", "image": image}]}}}}
    document["spec"].update(extra)
    return document


def live_of(desired):
    """What the API would return after applying desired: our annotation plus server defaults."""
    live = manifests.with_last_applied(desired)
    live["metadata"].update(uid="u", generation=1)
    live["spec"]["template"]["spec"]["containers"][0]["terminationMessagePath"] = "/dev/termination-log"
    live["status"] = {"replicas": 10}
    return live


def test_server_defaults_do_not_count_as_changes():
    desired = stable()
    assert manifests.reconcile(desired, live_of(desired))[0] is None


def test_dropped_fields_are_removed_and_rollout_fields_are_kept():
    live = live_of(stable(minReadySeconds=5))
    live["spec"]["replicas"] = 5  # a rollout step
    patch, effective = manifests.reconcile(stable(image=IMAGE, replicas=10), live)
    assert patch["spec"]["minReadySeconds"] is None
    assert patch["spec"]["replicas"] == 5 and effective["spec"]["template"]["spec"]["containers"][0]["image"] == OLD
    recorded = json.loads(patch["metadata"]["annotations"][manifests.LAST_APPLIED])
    assert "minReadySeconds" not in recorded["spec"]


def test_selector_changes_are_refused_before_sending():
    changed = stable()
    changed["spec"]["selector"] = {"matchLabels": {"app": "api"}}
    with pytest.raises(ConfigError, match="cannot change a selector"):
        manifests.reconcile(changed, live_of(stable()))


def test_secrets_are_never_applied_and_credentials_never_literal():
    with pytest.raises(ConfigError, match="never applied"):
        manifests.validate({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}}, "ns")
    literal = stable()
    literal["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "KEEPER_MNEMONIC", "value": "words"}]
    with pytest.raises(ConfigError, match="KEEPER_MNEMONIC carries a literal value") as raised:
        manifests.validate(literal, "ns")
    assert "words" not in str(raised.value)


def test_secret_references_are_collected_from_env_envfrom_and_volumes():
    document = stable()
    pod = document["spec"]["template"]["spec"]
    pod["containers"][0]["env"] = [
        {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "db", "key": "url"}}},
        {"name": "X", "valueFrom": {"secretKeyRef": {"name": "opt", "key": "k", "optional": True}}},
    ]
    pod["containers"][0]["envFrom"] = [{"secretRef": {"name": "api"}}]
    pod["volumes"] = [{"name": "tls", "secret": {"secretName": "tls"}}]
    assert manifests.secret_references(document) == [("db", "url"), ("api", None), ("tls", None)]


def test_the_product_never_depends_on_the_kubernetes_emulator():
    import os

    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    offenders = []
    for top in ("plugins", "roles", "playbooks", "inventories"):
        for folder, _subfolders, files in os.walk(os.path.join(repo, top)):
            for name in files:
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8", errors="replace") as handle:
                    if "kmock" in handle.read().lower():
                        offenders.append(os.path.relpath(path, repo))
    assert offenders == []
