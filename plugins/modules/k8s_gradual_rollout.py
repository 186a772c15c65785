#!/usr/bin/python
# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: k8s_gradual_rollout
short_description: Roll a backend service onto a new image in steps, gated by Prometheus
description:
  - Moves one service from its current image to O(image) in steps (by default 20%, 50%, then 100% of
    O(replicas)), and between steps asks Prometheus whether the pods on the new version are healthy.
  - The service runs as two Deployments. C(<service>) is the stable track and must select
    C(tonsurance.io/track=stable); C(<service>-canary) is the canary track, created on the first rollout
    from the stable pod template. The Service in front selects the service name only, so requests spread
    over both tracks in proportion to their ready pods. This needs nothing beyond the Deployment API, so
    it works on any conformant cluster without a service mesh or a rollout controller.
  - A step below 100% first grows the canary track to ceil(step% of replicas) pods (at least one), waits
    until they are really ready, then shrinks the stable track to the rest. The 100% step updates the
    stable Deployment to the new image at full size and then scales the canary track to zero.
  - A step is reached when the Deployment's observedGeneration has caught up with its generation, its
    updated, ready and available counts equal the wanted count with no surplus pods, and that many pods
    are Ready running the new image. The Available condition alone is never taken as ready. A
    Deployment whose Progressing condition says ProgressDeadlineExceeded, or that is not ready within
    O(wait_timeout), aborts the rollout.
  - After each step the module holds for O(hold_seconds), then queries the request rate, the error rate
    (5xx over all requests) and the p99 latency of the pods whose C(version) label is the new version.
    An error rate above O(error_rate_threshold), a p99 above O(latency_p99_threshold_ms), no requests,
    no data, or an unreachable Prometheus all abort.
  - Abort returns every pod to the previous image (the stable track back at full size first, then the
    canary track to zero), waits until that is done, and fails naming the step and the measured values.
  - The rollout's state is kept in annotations on the stable Deployment (C(tonsurance.io/rollout-image),
    C(tonsurance.io/rollout-from), C(tonsurance.io/rollout-step)); on completion the image it replaced is
    kept in C(tonsurance.io/previous-image). With O(pause_after_step) the rollout stops after that step
    has passed its gate; a later run without it resumes from there, and O(abort=true) rolls it back.
  - A service already fully on O(image) is left alone and the task reports no change.
version_added: 0.2.0
author: Tonsurance contributors (!UNKNOWN)
extends_documentation_fragment:
  - tonsurance.deploy.kubernetes
  - tonsurance.deploy.attributes
options:
  service:
    description: Name of the stable Deployment (and of the service).
    type: str
    required: true
  container:
    description: Container whose image is rolled out; defaults to O(service).
    type: str
  image:
    description: Full image reference to roll out, for example C(registry.tonsurance.io/api-v2:1.5.0).
    type: str
    required: true
  version:
    description:
      - Value of the pods' C(app.kubernetes.io/version) label and of the C(version) label the gate queries
        select. Defaults to the tag of O(image).
    type: str
  replicas:
    description: Total number of pods of the service, across both tracks.
    type: int
    required: true
  steps:
    description: Percentages of O(replicas) on the new image at each step; increasing, ending at 100.
    type: list
    elements: int
    default: [20, 50, 100]
  hold_seconds:
    description:
      - Seconds to hold after each step is ready before the gate is asked. After the hold the new pods must
        still all be ready, or the rollout aborts.
    type: int
    default: 300
  pause_after_step:
    description:
      - Stop after this step has passed its gate, leaving the rollout paused. It must be one of O(steps)
        and below 100. A later run resumes the paused rollout (up to its own O(pause_after_step), if any).
    type: int
  abort:
    description:
      - Roll a paused (or interrupted) rollout back to the image it started from. Nothing happens, and
        the task reports no change, when no rollout is in progress.
    type: bool
    default: false
  wait_timeout:
    description: Seconds each Deployment may take to become ready at a step or a rollback.
    type: int
    default: 600
  poll_interval:
    description: Seconds between two looks at a Deployment while waiting.
    type: float
    default: 2.0
  prometheus_url:
    description:
      - Base URL of the Prometheus HTTP API, for example C(http://prometheus.monitoring:9090).
      - Required unless O(abort=true); the gate fails closed without it.
    type: str
  prometheus_timeout:
    description: Seconds to wait for each Prometheus answer.
    type: int
    default: 10
  prometheus_bearer_token:
    description:
      - Bearer token for a Prometheus behind an authenticating proxy. Fetch it with a secret lookup.
    type: str
  prometheus_ca_path:
    description: CA bundle that signs the certificate of an https Prometheus URL.
    type: path
  prometheus_eval_time:
    description:
      - Evaluate the gate queries at this Unix time instead of now. Meant for replaying a gate against a
        recorded window (and for tests against backfilled data); leave it unset in operation.
    type: float
  gate_window:
    description: Range of the rate() windows in the gate queries, as a PromQL duration.
    type: str
    default: 5m
  error_rate_threshold:
    description: Highest acceptable share of 5xx answers, as a fraction (0.01 is 1%).
    type: float
    default: 0.01
  latency_p99_threshold_ms:
    description: Highest acceptable p99 latency, in milliseconds.
    type: float
    default: 500
  queries:
    description:
      - Replacements for the gate queries, keyed C(request_rate), C(error_rate) and C(latency_p99_seconds).
        C($namespace), C($service), C($version) and C($window) are substituted.
      - The defaults read C(http_requests_total) (with a C(code) label) and
        C(http_request_duration_seconds_bucket), selected by C(namespace), C(service) and C(version) labels,
        which the scrape configuration copies from the pod labels.
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    details:
      - Check mode reads the cluster and lists the steps it would take, with the pod counts of each track.
  diff_mode:
    support: full
notes:
  - Gates judge by the worst series when a custom query returns several.
  - Two runs rolling out the same service at once are not prevented; run one deployment job per network.
  - With fewer replicas than steps, neighbouring steps may have the same pod counts. A service with one
    replica runs its single canary pod from the first step, briefly beside the stable pod.
  - A fresh service (no stable Deployment yet) is created by M(tonsurance.deploy.k8s_backend_apply) with its
    first image; that first start has nothing to roll back to and is not gated.
  - WebSocket connections stay on the pod that accepted them, so a step shifts new connections only.
"""

EXAMPLES = r"""
- name: Show the steps a rollout of api-v2 would take
  tonsurance.deploy.k8s_gradual_rollout:
    kubeconfig: /etc/tonsurance/kubeconfig
    context: tonsurance-testnet
    namespace: tonsurance-testnet
    service: api-v2
    image: registry.tonsurance.io/tonsurance/api-v2:1.5.0
    replicas: 10
    prometheus_url: http://prometheus.monitoring:9090
  check_mode: true

- name: Roll api-v2 out to half of its pods and stop there
  tonsurance.deploy.k8s_gradual_rollout:
    kubeconfig: /etc/tonsurance/kubeconfig
    namespace: tonsurance-testnet
    service: api-v2
    image: registry.tonsurance.io/tonsurance/api-v2:1.5.0
    replicas: 10
    pause_after_step: 50
    prometheus_url: http://prometheus.monitoring:9090

- name: Abort the paused rollout
  tonsurance.deploy.k8s_gradual_rollout:
    kubeconfig: /etc/tonsurance/kubeconfig
    namespace: tonsurance-testnet
    service: api-v2
    image: registry.tonsurance.io/tonsurance/api-v2:1.5.0
    replicas: 10
    abort: true
"""

RETURN = r"""
namespace:
  description: Namespace of the service.
  returned: always
  type: str
  sample: tonsurance-testnet
service:
  description: The service rolled out.
  returned: always
  type: str
  sample: api-v2
replicas:
  description: Total number of pods of the service.
  returned: success
  type: int
  sample: 10
message:
  description: Why nothing was done, or what an abort did.
  returned: sometimes
  type: str
  sample: rollout of registry.tonsurance.io/tonsurance/api-v2:1.5.0 stays paused at step 50%
action:
  description:
    - C(none) (already on the image), C(completed), C(paused), C(aborted), C(settled) (leftover canary pods
      removed), or in check mode C(rollout), C(resume), C(abort), C(settle).
  returned: always
  type: str
  sample: completed
image:
  description: The image rolled out.
  returned: always
  type: str
  sample: registry.tonsurance.io/tonsurance/api-v2:1.5.0
stable_image:
  description: Image of the stable track after the run.
  returned: when the stable Deployment exists
  type: str
  sample: registry.tonsurance.io/tonsurance/api-v2:1.5.0
previous_image:
  description: The image the current one replaced, kept on the stable Deployment for the deployment record.
  returned: always
  type: str
  sample: registry.tonsurance.io/tonsurance/api-v2:1.4.2
rollout_from:
  description: The image a rollout in progress returns to on abort.
  returned: when a rollout was started, resumed or aborted
  type: str
  sample: registry.tonsurance.io/tonsurance/api-v2:1.4.2
paused_at:
  description: Step (percent) the rollout is paused at, if it is paused.
  returned: always
  type: int
  sample: 50
plan:
  description: Steps this run takes (or would take in check mode), with the pod count of each track.
  returned: always
  type: list
  elements: dict
  sample: [{"percent": 20, "canary_replicas": 2, "stable_replicas": 8,
            "image": "registry.tonsurance.io/tonsurance/api-v2:1.5.0"}]
steps:
  description: Steps taken, with the seconds waited for readiness and the gate's verdict and measured values.
  returned: always
  type: list
  elements: dict
  sample: [{"percent": 20, "canary_replicas": 2, "stable_replicas": 8, "waited_seconds": 41.2,
            "gate": {"passed": true, "reasons": [],
                     "measured": {"request_rate": 18.4, "error_rate": 0.0021, "latency_p99_ms": 212.5}}}]
failed_step:
  description: Step (percent) at which the rollout was aborted.
  returned: on failure of a rollout
  type: int
  sample: 50
measured:
  description: Values measured by the gate that aborted the rollout (None where there was no data).
  returned: on failure of a rollout
  type: dict
  sample: {"request_rate": 20.1, "error_rate": 0.034, "latency_p99_ms": 212.5}
reasons:
  description: Why the gate failed, one sentence per reason.
  returned: on failure of a rollout
  type: list
  elements: str
  sample: ["error rate 3.40% above 1.00%"]
rolled_back_to:
  description: Image every pod was returned to after an abort (None when the rollback itself did not finish).
  returned: on failure of a rollout
  type: str
  sample: registry.tonsurance.io/tonsurance/api-v2:1.4.2
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tonsurance.deploy.plugins.module_utils._k8s import common
from ansible_collections.tonsurance.deploy.plugins.module_utils._k8s.errors import K8sError, RolloutAbortedError
from ansible_collections.tonsurance.deploy.plugins.module_utils._k8s.gate import DEFAULT_QUERIES, Prometheus, evaluate
from ansible_collections.tonsurance.deploy.plugins.module_utils._k8s.rollout import Rollout, version_of


def argument_spec():
    spec = dict(common.CLUSTER_ARGS)
    spec.update(
        service=dict(type="str", required=True),
        container=dict(type="str"),
        image=dict(type="str", required=True),
        version=dict(type="str"),
        replicas=dict(type="int", required=True),
        steps=dict(type="list", elements="int", default=[20, 50, 100]),
        hold_seconds=dict(type="int", default=300),
        pause_after_step=dict(type="int"),
        abort=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=600),
        poll_interval=dict(type="float", default=2.0),
        prometheus_url=dict(type="str"),
        prometheus_timeout=dict(type="int", default=10),
        prometheus_bearer_token=dict(type="str", no_log=True),
        prometheus_ca_path=dict(type="path"),
        prometheus_eval_time=dict(type="float"),
        gate_window=dict(type="str", default="5m"),
        error_rate_threshold=dict(type="float", default=0.01),
        latency_p99_threshold_ms=dict(type="float", default=500),
        queries=dict(type="dict", default={}),
    )
    return spec


def make_gate(params):
    unknown = set(params["queries"]) - set(DEFAULT_QUERIES)
    if unknown:
        raise ValueError(f"unknown gate queries {sorted(unknown)}; known: {sorted(DEFAULT_QUERIES)}")
    queries = dict(DEFAULT_QUERIES, **params["queries"])
    prometheus = Prometheus(params["prometheus_url"], params["prometheus_timeout"], params["prometheus_eval_time"],
                            params["prometheus_bearer_token"], params["prometheus_ca_path"])

    def gate(version):
        labels = dict(namespace=params["namespace"], service=params["service"], version=version,
                      window=params["gate_window"])
        return evaluate(prometheus, queries, labels, params["error_rate_threshold"],
                        params["latency_p99_threshold_ms"])

    return gate


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    common.require_libs(module)
    params = module.params
    where = f"{params['namespace']}/{params['service']}"

    if params["replicas"] < 1:
        module.fail_json(msg=f"{where}: replicas must be at least 1")
    if not params["abort"] and not params["prometheus_url"]:
        module.fail_json(msg=f"{where}: prometheus_url is required; the gate fails closed without Prometheus")
    try:
        gate = make_gate(params) if params["prometheus_url"] else None
    except (ValueError, K8sError) as exc:
        module.fail_json(msg=f"{where}: {exc}")
    settings = dict(params, container=params["container"] or params["service"],
                    version=params["version"] or version_of(params["image"]))

    cluster = common.open_cluster(module)

    rollout = None
    try:
        rollout = Rollout(cluster, settings, gate)
        before = rollout.snapshot()
        result = rollout.run(check_mode=module.check_mode)
        after = rollout.snapshot() if not module.check_mode else rollout.planned_snapshot(before, result)
    except RolloutAbortedError as exc:
        module.fail_json(msg=str(exc), changed=True, failed_step=exc.step, measured=exc.measured,
                         reasons=exc.reasons, rolled_back_to=exc.rolled_back_to, steps=exc.history,
                         image=params["image"], namespace=params["namespace"], service=params["service"])
    except K8sError as exc:
        module.fail_json(msg=f"{where}: {exc}", changed=bool(rollout and rollout.writes))
    finally:
        cluster.close()

    if module._diff:
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
