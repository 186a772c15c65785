"""Waiting until a Deployment really runs what it was asked to run.

"Ready" here means all of: the controller has seen the latest spec (observedGeneration caught up
with generation), the status counts match the wanted replica count (updated, ready, available,
and no surplus old pods), and the pods themselves are Ready with the wanted image. The Available
condition alone is not enough: it only says that enough pods of *some* revision are up.

Deadlines are monotonic; a Deployment whose Progressing condition reports
ProgressDeadlineExceeded fails at once instead of waiting out the whole timeout.
"""

import time

from .errors import RolloutStuckError, WaitTimeoutError
from .manifests import container_of

WAITING_REASONS_WORTH_NAMING = ("ImagePullBackOff", "ErrImagePull", "CrashLoopBackOff", "CreateContainerConfigError",
                                "CreateContainerError", "InvalidImageName", "RunContainerError")


def _condition(document, kind):
    for condition in (document.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return condition
    return None


def selector_labels(deployment):
    return dict(((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {})


def _pod_ready(pod):
    condition = _condition(pod, "Ready")
    return bool(condition and condition.get("status") == "True")


def _pod_image(pod, container):
    found = container_of((pod.get("spec") or {}), container)
    return found.get("image") if found else None


def _live_pods(pods):
    return [pod for pod in pods
            if not (pod.get("metadata") or {}).get("deletionTimestamp")
            and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]


class Progress:
    """Where a Deployment stands against (replicas, image); `ready` is the verdict."""

    def __init__(self, ready, detail, stuck=None):
        self.ready = ready
        self.detail = detail
        self.stuck = stuck

    def __repr__(self):
        return f"Progress(ready={self.ready}, detail={self.detail!r}, stuck={self.stuck!r})"


def assess(deployment, pods, replicas, image, container):
    """Judge one observation of a Deployment and its pods; pure, so it can be tested on dicts."""
    metadata = deployment.get("metadata") or {}
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    generation = metadata.get("generation") or 0
    observed = status.get("observedGeneration") or 0
    counts = {key: status.get(key) or 0
              for key in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")}

    stuck = None
    progressing = _condition(deployment, "Progressing")
    if (progressing and progressing.get("status") == "False"
            and progressing.get("reason") == "ProgressDeadlineExceeded" and observed >= generation):
        stuck = progressing.get("message") or "progress deadline exceeded"

    live = _live_pods(pods)
    on_image = [pod for pod in live if _pod_image(pod, container) == image]
    ready_on_image = [pod for pod in on_image if _pod_ready(pod)]
    other = len(live) - len(on_image)
    waiting = sorted({
        reason
        for pod in live for container_status in ((pod.get("status") or {}).get("containerStatuses") or [])
        for reason in [((container_status.get("state") or {}).get("waiting") or {}).get("reason")]
        if reason in WAITING_REASONS_WORTH_NAMING
    })

    detail = (f"generation {generation} observed {observed}, wanted {replicas}, spec {spec.get('replicas')}, "
              f"status replicas {counts['replicas']} updated {counts['updatedReplicas']} "
              f"ready {counts['readyReplicas']} available {counts['availableReplicas']}, "
              f"pods ready on {image}: {len(ready_on_image)}, pods on other images: {other}")
    if waiting:
        detail += f", containers waiting: {', '.join(waiting)}"

    ready = (
        observed >= generation > 0
        and spec.get("replicas", 1) == replicas
        and counts["updatedReplicas"] == replicas
        and counts["readyReplicas"] == replicas
        and counts["availableReplicas"] == replicas
        and counts["replicas"] == replicas
        and len(ready_on_image) >= replicas
        and other == 0
    )
    return Progress(ready, detail, None if ready else stuck)


def wait_for(cluster, namespace, name, replicas, image, container, timeout, poll_interval=2.0,
             clock=time.monotonic, sleep=time.sleep):
    """Poll until the Deployment runs `replicas` ready pods of `image`; return the seconds waited."""
    started = clock()
    deadline = started + timeout
    while True:
        deployment = cluster.get("Deployment", name, namespace)
        if deployment is None:
            raise WaitTimeoutError(f"Deployment {namespace}/{name} disappeared while waiting for it")
        pods = cluster.list("Pod", namespace, selector_labels(deployment))
        progress = assess(deployment, pods, replicas, image, container)
        if progress.ready:
            return round(clock() - started, 3)
        if progress.stuck:
            raise RolloutStuckError(f"Deployment {namespace}/{name} stopped progressing: {progress.stuck} "
                                    f"({progress.detail})")
        if clock() >= deadline:
            raise WaitTimeoutError(f"Deployment {namespace}/{name} did not run {replicas} ready pods of {image} "
                                   f"within {timeout} s ({progress.detail})")
        sleep(min(poll_interval, max(0.0, deadline - clock())))
