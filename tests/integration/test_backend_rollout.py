"""k8s_gradual_rollout against the emulated cluster and a real, backfilled Prometheus.

Each test owns a namespace. The gate data says how the pods of each version behave there:
healthy, too many 5xx, too slow, or no traffic at all.
"""

import pytest

from backend_fixtures import POLL, cluster_args, image, service_manifest, stable_deployment
from conftest import module

SERVICE = "api-v2"
OLD, NEW = "1.4.2", "1.5.0"
GATE_SERIES = [
    (f"tonsurance-{case}", SERVICE, version, scenario)
    for case in ("healthy", "errors", "slow", "idle", "unreachable", "stuck", "timeout", "paused", "abort", "crash")
    for version, scenario in ((OLD, "healthy"), (NEW, "healthy"), ("1.5.0-errors", "errors"),
                              ("1.5.0-slow", "slow"), ("1.5.0-idle", "idle"))
]


def deploy_old(kubeconfig, namespace, replicas=10, progress_deadline=600):
    result = module("k8s_backend_apply", dict(
        cluster_args(kubeconfig, namespace), poll_interval=POLL, wait_timeout=60,
        manifests=[stable_deployment(SERVICE, OLD, replicas, progress_deadline), service_manifest(SERVICE)]))
    assert result.get("changed") and not result.get("failed"), result


def rollout(kubeconfig, prometheus, namespace, tag, check_mode=False, diff=False, **options):
    args = dict(cluster_args(kubeconfig, namespace), service=SERVICE, image=image(SERVICE, tag), replicas=10,
                hold_seconds=0, poll_interval=POLL, wait_timeout=60, prometheus_url=prometheus.url,
                prometheus_eval_time=prometheus.eval_time)
    args.update(options)
    return module("k8s_gradual_rollout", args, check_mode=check_mode, diff=diff)


def annotations(kube, namespace):
    return kube.deployment(namespace, SERVICE)["metadata"].get("annotations") or {}


def assert_all_on(kube, namespace, tag, replicas=10):
    """Read back from the API: the stable track runs every pod on tag, the canary track none."""
    stable = kube.deployment(namespace, SERVICE)
    assert stable["spec"]["replicas"] == replicas
    assert stable["spec"]["template"]["spec"]["containers"][0]["image"] == image(SERVICE, tag)
    canary = kube.deployment(namespace, SERVICE + "-canary")
    assert canary is None or canary["spec"]["replicas"] == 0
    assert kube.images(namespace, SERVICE) == {image(SERVICE, tag): replicas}


def test_healthy_rollout_promotes_to_every_pod_and_a_second_run_changes_nothing(kubeconfig, prometheus, kube):
    namespace = "tonsurance-healthy"
    deploy_old(kubeconfig, namespace)

    planned = rollout(kubeconfig, prometheus, namespace, NEW, check_mode=True, diff=True)
    assert planned["changed"] and planned["action"] == "rollout"
    assert [(s["percent"], s["canary_replicas"], s["stable_replicas"]) for s in planned["plan"]] == [
        (20, 2, 8), (50, 5, 5), (100, 0, 10)]
    assert planned["diff"]["after"]["stable_image"] == image(SERVICE, NEW)
    assert_all_on(kube, namespace, OLD)
    assert kube.deployment(namespace, SERVICE + "-canary") is None, "check mode must not create the canary"

    done = rollout(kubeconfig, prometheus, namespace, NEW, diff=True)
    assert done.get("failed") is not True, done.get("msg")
    assert done["changed"] and done["action"] == "completed"
    assert [step["percent"] for step in done["steps"]] == [20, 50, 100]
    for step in done["steps"]:
        assert step["gate"]["passed"], step
        assert step["gate"]["measured"]["error_rate"] < 0.01
        assert step["gate"]["measured"]["latency_p99_ms"] < 500
        assert step["gate"]["measured"]["request_rate"] > 0
    assert done["previous_image"] == image(SERVICE, OLD)
    assert done["diff"]["before"]["stable_image"] == image(SERVICE, OLD)
    assert done["diff"]["after"]["stable_image"] == image(SERVICE, NEW)

    assert_all_on(kube, namespace, NEW)
    notes = annotations(kube, namespace)
    assert notes["tonsurance.io/previous-image"] == image(SERVICE, OLD)
    assert "tonsurance.io/rollout-image" not in notes
    pod_labels = kube.deployment(namespace, SERVICE)["spec"]["template"]["metadata"]["labels"]
    assert pod_labels["app.kubernetes.io/version"] == NEW

    again = rollout(kubeconfig, prometheus, namespace, NEW)
    assert not again["changed"] and again["action"] == "none" and again["steps"] == []
    assert again["previous_image"] == image(SERVICE, OLD)
    release = [stable_deployment(SERVICE, NEW, 10), service_manifest(SERVICE)]
    reapplied = module("k8s_backend_apply", dict(cluster_args(kubeconfig, namespace), manifests=release))
    assert not reapplied["changed"], "applying the release's manifests after its rollout changes nothing"


@pytest.mark.parametrize("case, tag, reason, measured", [
    ("errors", "1.5.0-errors", "error rate 4.00% above 1.00%", {"error_rate": 0.04}),
    ("slow", "1.5.0-slow", "p99 latency 950 ms above 500 ms", {"latency_p99_ms": 950.0}),
    ("idle", "1.5.0-idle", "no data", {"request_rate": 0.0, "error_rate": None, "latency_p99_ms": None}),
])
def test_failed_gate_rolls_back_to_the_previous_image_and_reports_the_values(kubeconfig, prometheus, kube, case, tag,
                                                                             reason, measured):
    namespace = f"tonsurance-{case}"
    deploy_old(kubeconfig, namespace)

    result = rollout(kubeconfig, prometheus, namespace, tag)
    assert result["failed"] and result["changed"]
    assert result["failed_step"] == 20
    assert reason in result["msg"] and "step 20%" in result["msg"]
    assert f"every pod is back on {image(SERVICE, OLD)}" in result["msg"]
    for key, value in measured.items():
        assert result["measured"][key] == value
    assert result["rolled_back_to"] == image(SERVICE, OLD)

    assert_all_on(kube, namespace, OLD)
    assert "tonsurance.io/rollout-image" not in annotations(kube, namespace)


def test_unreachable_prometheus_fails_closed(kubeconfig, prometheus, kube):
    from backend_metrics import free_port

    namespace = "tonsurance-unreachable"
    deploy_old(kubeconfig, namespace)
    result = rollout(kubeconfig, prometheus, namespace, NEW, prometheus_url=f"http://127.0.0.1:{free_port()}")
    assert result["failed"] and result["failed_step"] == 20
    assert "Prometheus unreachable" in result["msg"]
    assert_all_on(kube, namespace, OLD)


@pytest.mark.parametrize("case, progress_deadline, wait_timeout, why", [
    ("stuck", 1, 60, "stopped progressing"),
    ("timeout", 600, 2, "did not run 2 ready pods"),
])
def test_rollout_that_never_becomes_ready_is_rolled_back(kubeconfig, prometheus, kube, cluster, case,
                                                         progress_deadline, wait_timeout, why):
    namespace = f"tonsurance-{case}"
    deploy_old(kubeconfig, namespace, progress_deadline=progress_deadline)
    broken = f"1.5.0-{case}"
    cluster.controller.never_ready.add(image(SERVICE, broken))

    result = rollout(kubeconfig, prometheus, namespace, broken, wait_timeout=wait_timeout)
    assert result["failed"] and result["failed_step"] == 20
    assert why in result["msg"] and "did not become ready" in result["msg"]
    assert "CrashLoopBackOff" in result["msg"], result["msg"]
    assert "gate" not in result["steps"][0], "a step that never became ready is not gated"
    assert_all_on(kube, namespace, OLD)


def test_pods_that_fall_over_during_the_hold_are_rolled_back(kubeconfig, prometheus, kube, cluster):
    namespace = "tonsurance-crash"
    deploy_old(kubeconfig, namespace)
    cluster.controller.crash_when_ready.add(image(SERVICE, "1.5.0-crash"))
    # The pods fall over 2 s after becoming ready: late enough that the step's wait sees them ready even
    # on a loaded machine, early enough to fall inside the 4 s hold.
    cluster.controller.crash_after = 2.0
    try:
        result = rollout(kubeconfig, prometheus, namespace, "1.5.0-crash", hold_seconds=4)
    finally:
        cluster.controller.crash_after = None
    assert result["failed"] and result["failed_step"] == 20
    assert "stopped being ready during the 4 s hold" in result["msg"] and "CrashLoopBackOff" in result["msg"]
    assert_all_on(kube, namespace, OLD)


def test_paused_rollout_stays_paused_then_resumes(kubeconfig, prometheus, kube, cluster):
    namespace = "tonsurance-paused"
    deploy_old(kubeconfig, namespace)

    # A slow controller: after each change the status describes the old spec for a while.
    lag = cluster.controller.status_lag
    cluster.controller.status_lag = 0.6
    try:
        paused = rollout(kubeconfig, prometheus, namespace, NEW, pause_after_step=50)
    finally:
        cluster.controller.status_lag = lag
    assert paused["changed"] and paused["action"] == "paused" and paused["paused_at"] == 50
    assert [step["percent"] for step in paused["steps"]] == [20, 50]
    # Read at once: had the module trusted a stale status, the stable track would still run 10 pods.
    stable = kube.deployment(namespace, SERVICE)
    assert stable["status"]["observedGeneration"] == stable["metadata"]["generation"]
    assert kube.images(namespace, SERVICE) == {image(SERVICE, OLD): 5, image(SERVICE, NEW): 5}
    assert len(kube.pods(namespace, **{"app.kubernetes.io/name": SERVICE})) == 10
    notes = annotations(kube, namespace)
    assert notes["tonsurance.io/rollout-step"] == "50"
    assert notes["tonsurance.io/rollout-image"] == image(SERVICE, NEW)

    still = rollout(kubeconfig, prometheus, namespace, NEW, pause_after_step=50)
    assert not still["changed"] and still["action"] == "paused" and still["paused_at"] == 50

    planned = rollout(kubeconfig, prometheus, namespace, NEW, check_mode=True)
    assert planned["action"] == "resume" and [s["percent"] for s in planned["plan"]] == [100]

    resumed = rollout(kubeconfig, prometheus, namespace, NEW)
    assert resumed["changed"] and resumed["action"] == "completed"
    assert [step["percent"] for step in resumed["steps"]] == [100]
    assert resumed["previous_image"] == image(SERVICE, OLD)
    assert_all_on(kube, namespace, NEW)
    assert not rollout(kubeconfig, prometheus, namespace, NEW)["changed"]


def test_paused_rollout_refuses_another_image_and_is_aborted_by_a_later_run(kubeconfig, prometheus, kube):
    namespace = "tonsurance-abort"
    deploy_old(kubeconfig, namespace)
    assert rollout(kubeconfig, prometheus, namespace, NEW, pause_after_step=20)["paused_at"] == 20
    split = {image(SERVICE, OLD): 8, image(SERVICE, NEW): 2}
    assert kube.images(namespace, SERVICE) == split

    other = rollout(kubeconfig, prometheus, namespace, "1.5.0-slow")
    assert other["failed"] and not other["changed"]
    assert f"a rollout of {image(SERVICE, NEW)} is paused at step 20%" in other["msg"]
    assert kube.images(namespace, SERVICE) == split

    planned = rollout(kubeconfig, prometheus, namespace, NEW, abort=True, check_mode=True)
    assert planned["changed"] and planned["action"] == "abort"
    assert kube.images(namespace, SERVICE) == split

    aborted = rollout(kubeconfig, prometheus, namespace, NEW, abort=True)
    assert aborted["changed"] and aborted["action"] == "aborted"
    assert_all_on(kube, namespace, OLD)
    assert "tonsurance.io/rollout-image" not in annotations(kube, namespace)
    assert not rollout(kubeconfig, prometheus, namespace, NEW, abort=True)["changed"]
