"""Gradual rollout of one backend service: stable and canary Deployments, steps, gates, rollback.

Mechanics (they work on any conformant API server, no add-on needed):

- The service runs as two Deployments. ``<service>`` is the stable track (its selector includes
  ``tonsurance.io/track: stable``), ``<service>-canary`` the canary track, created on the first
  rollout as a copy of the stable pod template. The Service selects ``app.kubernetes.io/name``
  only, so it spreads requests over both tracks in proportion to their ready pods.
- A step of P% below 100 runs ceil(P% of replicas) canary pods on the new image (at least one),
  waits until they are really ready, then scales the stable track down to the rest and waits
  again. Capacity never drops: the canary grows before the stable track shrinks.
- The 100% step promotes: the stable Deployment gets the new image and the full replica count
  (an ordinary rolling update), and once it is ready the canary track is scaled to zero.
- After each step the rollout holds, then asks the gate about the pods on the new version.
  A failed gate, a step that never becomes ready, or a stuck Deployment rolls everything back:
  the stable track returns to the previous image at full size and the canary track to zero.
- The rollout's state lives in annotations on the stable Deployment, so a paused rollout is
  resumed (or aborted) by a later run, from any machine.
"""

import copy
import time

from .errors import ConfigError, K8sError, RolloutAbortedError, WaitTimeoutError
from .manifests import TRACK_LABEL, VERSION_LABEL, container_of, is_subset
from .waiter import assess, selector_labels, wait_for

ROLLOUT_IMAGE = "tonsurance.io/rollout-image"
ROLLOUT_FROM = "tonsurance.io/rollout-from"
ROLLOUT_STEP = "tonsurance.io/rollout-step"
PREVIOUS_IMAGE = "tonsurance.io/previous-image"
CANARY_SUFFIX = "-canary"


def version_of(image):
    """The tag of an image reference (registry ports and digests taken into account)."""
    reference = image.split("@", 1)[0]
    last = reference.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else "latest"


def validate_steps(steps):
    try:
        steps = [int(step) for step in steps]
    except (TypeError, ValueError):
        raise ConfigError(f"rollout steps {steps!r} must be percentages") from None
    if not steps or steps[-1] != 100:
        raise ConfigError(f"rollout steps {steps} must end at 100")
    if any(not 0 < step <= 100 for step in steps) or steps != sorted(set(steps)):
        raise ConfigError(f"rollout steps {steps} must be increasing percentages between 1 and 100")
    return steps


def split(replicas, percent):
    """(canary, stable) pod counts at a step; a step below 100% runs at least one canary pod."""
    if percent >= 100:
        return replicas, 0
    canary = min(replicas, max(1, -(-replicas * percent // 100)))
    return canary, replicas - canary


def image_of(deployment, container):
    pod = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}
    found = container_of(pod, container)
    if not found:
        name = deployment.get("metadata", {}).get("name")
        raise ConfigError(f"Deployment {name} has no container named {container}")
    return found.get("image")


def annotations_of(deployment):
    return dict((deployment.get("metadata") or {}).get("annotations") or {})


class Rollout:
    def __init__(self, cluster, settings, gate, clock=time.monotonic, sleep=time.sleep):
        self.cluster = cluster
        self.s = settings
        self.gate = gate
        self.clock = clock
        self.sleep = sleep
        self.namespace = settings["namespace"]
        self.service = settings["service"]
        self.canary_name = settings["service"] + CANARY_SUFFIX
        self.container = settings["container"]
        self.image = settings["image"]
        self.version = settings["version"]
        self.replicas = settings["replicas"]
        self.steps = validate_steps(settings["steps"])
        self.pause_after = settings.get("pause_after_step")
        if self.pause_after is not None:
            if self.pause_after not in self.steps:
                raise ConfigError(f"pause_after_step {self.pause_after} is not one of the steps {self.steps}")
            if self.pause_after == 100:
                raise ConfigError("pause_after_step cannot be the last step (100)")
        self.writes = 0
        self.history = []

    # Observation

    def _get(self, name):
        return self.cluster.get("Deployment", name, self.namespace)

    def observe(self):
        stable = self._get(self.service)
        canary = self._get(self.canary_name)
        state = {"stable": stable, "canary": canary}
        if stable is not None:
            state["stable_image"] = image_of(stable, self.container)
            state["stable_replicas"] = (stable.get("spec") or {}).get("replicas", 1)
            notes = annotations_of(stable)
            state["target"] = notes.get(ROLLOUT_IMAGE)
            state["from"] = notes.get(ROLLOUT_FROM)
            try:
                state["step"] = int(notes.get(ROLLOUT_STEP) or 0)
            except ValueError:
                raise ConfigError(f"Deployment {self.namespace}/{self.service} has an unreadable {ROLLOUT_STEP} "
                                  f"annotation {notes.get(ROLLOUT_STEP)!r}; fix or remove it") from None
            state["previous"] = notes.get(PREVIOUS_IMAGE)
        state["canary_replicas"] = ((canary or {}).get("spec") or {}).get("replicas", 0) if canary else 0
        return state

    def snapshot(self):
        """What an operator compares before and after a run: images, track sizes, the paused step."""
        state = self.observe()
        if state["stable"] is None:
            return {}
        return {"stable_image": state["stable_image"], "stable_replicas": state["stable_replicas"],
                "canary_replicas": state["canary_replicas"], "rollout_image": state["target"],
                "rollout_step": state["step"] if state["target"] else None}

    def planned_snapshot(self, before, result):
        """The snapshot a real run would leave, from a check-mode plan."""
        if not result["plan"] or not before:
            return before
        last = result["plan"][-1]
        done = last["percent"] in (0, 100)
        return {"stable_image": last["image"] if done else before["stable_image"],
                "stable_replicas": last["stable_replicas"], "canary_replicas": last["canary_replicas"],
                "rollout_image": None if done else self.image, "rollout_step": None if done else last["percent"]}

    def remaining(self, last_step):
        steps = [step for step in self.steps if step > last_step]
        if self.pause_after is not None:
            steps = [step for step in steps if step <= self.pause_after]
        return steps

    def plan_of(self, steps):
        return [{"percent": step, "canary_replicas": split(self.replicas, step)[0] if step < 100 else 0,
                 "stable_replicas": split(self.replicas, step)[1] if step < 100 else self.replicas,
                 "image": self.image} for step in steps]

    # Writes

    def _patch(self, name, patch):
        self.writes += 1
        return self.cluster.patch("Deployment", name, patch, self.namespace)

    def _annotate(self, values):
        self._patch(self.service, {"metadata": {"annotations": values}})

    def _scale(self, name, replicas):
        deployment = self._get(name)
        if deployment is not None and (deployment.get("spec") or {}).get("replicas", 1) != replicas:
            self._patch(name, {"spec": {"replicas": replicas}})

    def _set_image(self, name, deployment, image, version, replicas):
        """Point a Deployment's container at image (and its pods' version label) with a replica count."""
        template = copy.deepcopy((deployment.get("spec") or {}).get("template") or {})
        containers = template.get("spec", {}).get("containers") or []
        for container in containers:
            if container.get("name") == self.container:
                container["image"] = image
        labels = template.setdefault("metadata", {}).setdefault("labels", {})
        labels[VERSION_LABEL] = version
        spec = deployment.get("spec") or {}
        live_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        if (spec.get("replicas", 1) == replicas and image_of(deployment, self.container) == image
                and live_labels.get(VERSION_LABEL) == version):
            return
        self._patch(name, {"spec": {"replicas": replicas, "template": {
            "metadata": {"labels": labels}, "spec": {"containers": containers}}}})

    def _canary_manifest(self, stable, replicas):
        spec = stable.get("spec") or {}
        selector = copy.deepcopy((spec.get("selector") or {}).get("matchLabels") or {})
        if selector.get(TRACK_LABEL) != "stable":
            raise ConfigError(f"Deployment {self.namespace}/{self.service} must select {TRACK_LABEL}: stable, or it "
                              f"would adopt the canary's pods")
        selector[TRACK_LABEL] = "canary"
        template = copy.deepcopy(spec.get("template") or {})
        labels = template.setdefault("metadata", {}).setdefault("labels", {})
        labels.update({TRACK_LABEL: "canary", VERSION_LABEL: self.version})
        for container in template.get("spec", {}).get("containers") or []:
            if container.get("name") == self.container:
                container["image"] = self.image
        metadata_labels = dict((stable.get("metadata") or {}).get("labels") or {})
        metadata_labels[TRACK_LABEL] = "canary"
        document = {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": self.canary_name, "namespace": self.namespace, "labels": metadata_labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": selector}, "template": template},
        }
        for key in ("strategy", "progressDeadlineSeconds", "minReadySeconds", "revisionHistoryLimit"):
            if key in spec:
                document["spec"][key] = copy.deepcopy(spec[key])
        return document

    def _ensure_canary(self, replicas):
        stable = self._get(self.service)
        wanted = self._canary_manifest(stable, replicas)
        canary = self._get(self.canary_name)
        if canary is None:
            self.writes += 1
            self.cluster.create("Deployment", wanted, self.namespace)
            return
        live_spec = canary.get("spec") or {}
        same_template = is_subset(wanted["spec"]["template"], live_spec.get("template"))
        if live_spec.get("replicas", 1) != replicas or not same_template:
            self._patch(self.canary_name, {"spec": {"replicas": replicas, "template": wanted["spec"]["template"]}})

    def _wait(self, name, replicas, image):
        return wait_for(self.cluster, self.namespace, name, replicas, image, self.container,
                        timeout=self.s["wait_timeout"], poll_interval=self.s["poll_interval"],
                        clock=self.clock, sleep=self.sleep)

    # Steps

    def _reach(self, percent):
        canary, stable = split(self.replicas, percent)
        waited = 0.0
        if percent < 100:
            self._ensure_canary(canary)
            waited += self._wait(self.canary_name, canary, self.image)
            source = image_of(self._get(self.service), self.container)
            self._scale(self.service, stable)
            waited += self._wait(self.service, stable, source)
        else:
            self._set_image(self.service, self._get(self.service), self.image, self.version, self.replicas)
            waited += self._wait(self.service, self.replicas, self.image)
            canary_deployment = self._get(self.canary_name)
            if canary_deployment is not None:
                self._scale(self.canary_name, 0)
                waited += self._wait(self.canary_name, 0, image_of(canary_deployment, self.container))
        return {"percent": percent, "canary_replicas": canary if percent < 100 else 0,
                "stable_replicas": stable if percent < 100 else self.replicas, "waited_seconds": round(waited, 3)}

    def _hold(self, percent):
        """Hold, then make sure the step's new pods are still all ready (a crash loop may start late)."""
        hold = self.s["hold_seconds"]
        if hold <= 0:
            return
        self.sleep(hold)
        name, replicas = (self.canary_name, split(self.replicas, percent)[0]) if percent < 100 \
            else (self.service, self.replicas)
        deployment = self._get(name)
        pods = self.cluster.list("Pod", self.namespace, selector_labels(deployment)) if deployment else []
        progress = assess(deployment or {}, pods, replicas, self.image, self.container)
        if not progress.ready:
            raise WaitTimeoutError(f"Deployment {self.namespace}/{name} stopped being ready during the "
                                   f"{hold} s hold ({progress.detail})")

    def rollback(self, source):
        """Every pod back on source: stable at full size first, then the canary track to zero."""
        stable = self._get(self.service)
        self._set_image(self.service, stable, source, version_of(source), self.replicas)
        self._wait(self.service, self.replicas, source)
        canary = self._get(self.canary_name)
        if canary is not None:
            self._scale(self.canary_name, 0)
            self._wait(self.canary_name, 0, image_of(canary, self.container))
        self._annotate({ROLLOUT_IMAGE: None, ROLLOUT_FROM: None, ROLLOUT_STEP: None})

    def _abort(self, percent, source, why, measured=None, reasons=None):
        where = f"{self.namespace}/{self.service}"
        try:
            self.rollback(source)
        except K8sError as exc:
            raise RolloutAbortedError(
                f"{where}: rollout of {self.image} aborted at step {percent}% ({why}), and the rollback to "
                f"{source} did not finish: {exc}", percent, measured, reasons, None, self.history) from exc
        raise RolloutAbortedError(
            f"{where}: rollout of {self.image} aborted at step {percent}%: {why}; every pod is back on {source}",
            percent, measured, reasons, source, self.history)

    # Entry point

    def run(self, check_mode=False):
        state = self.observe()
        result = {"namespace": self.namespace, "service": self.service, "image": self.image,
                  "replicas": self.replicas, "steps": self.history, "plan": [], "paused_at": None}
        if state["stable"] is None:
            if check_mode:
                result.update(action="none", changed=False, previous_image=None,
                              message=f"Deployment {self.service} does not exist yet; applying the manifests "
                                      f"creates it with {self.image}")
                return result
            raise ConfigError(f"Deployment {self.namespace}/{self.service} does not exist; apply the backend "
                              f"manifests (k8s_backend_apply) before rolling out")
        result["previous_image"] = state["previous"]
        result["stable_image"] = state["stable_image"]
        in_flight = state["target"]

        if self.s.get("abort"):
            return self._run_abort(state, result, check_mode)

        if in_flight and in_flight != self.image:
            raise ConfigError(f"{self.namespace}/{self.service}: a rollout of {in_flight} is paused at step "
                              f"{state['step']}%; resume it with that image or abort it before rolling out "
                              f"{self.image}")

        if not in_flight and state["stable_image"] == self.image:
            return self._run_settled(state, result, check_mode)

        source = state["from"] if in_flight else state["stable_image"]
        last = state["step"] if in_flight else 0
        steps = self.remaining(last)
        result["rollout_from"] = source
        if not steps:
            result.update(action="paused", changed=False, paused_at=last,
                          message=f"rollout of {self.image} stays paused at step {last}%")
            return result
        result["plan"] = self.plan_of(steps)
        if check_mode:
            result.update(action="resume" if in_flight else "rollout", changed=True)
            return result

        if not in_flight:
            self._annotate({ROLLOUT_IMAGE: self.image, ROLLOUT_FROM: source, ROLLOUT_STEP: "0"})
        for percent in steps:
            try:
                entry = self._reach(percent)
            except K8sError as exc:
                self.history.append({"percent": percent, "error": str(exc)})
                self._abort(percent, source, f"the pods did not become ready: {exc}")
            self.history.append(entry)
            try:
                self._hold(percent)
            except K8sError as exc:
                entry["error"] = str(exc)
                self._abort(percent, source, str(exc))
            verdict = self.gate(self.version)
            entry["gate"] = verdict.as_dict()
            if not verdict.passed:
                measured = verdict.measured
                self._abort(percent, source, f"{'; '.join(verdict.reasons)} (measured: {_measured_text(measured)})",
                            measured, verdict.reasons)
            if percent == 100:
                self._annotate({PREVIOUS_IMAGE: source, ROLLOUT_IMAGE: None, ROLLOUT_FROM: None, ROLLOUT_STEP: None})
                result.update(action="completed", changed=True, previous_image=source, stable_image=self.image)
                return result
            self._annotate({ROLLOUT_STEP: str(percent)})
        result.update(action="paused", changed=True, paused_at=steps[-1])
        return result

    def _run_settled(self, state, result, check_mode):
        """Already on the image: only leftovers (a canary with pods, a stable track not at full size) change."""
        work = state["canary_replicas"] > 0 or state["stable_replicas"] != self.replicas
        if not work:
            result.update(action="none", changed=False)
            return result
        result["plan"] = [{"percent": 100, "canary_replicas": 0, "stable_replicas": self.replicas, "image": self.image}]
        if check_mode:
            result.update(action="settle", changed=True)
            return result
        self._set_image(self.service, state["stable"], self.image, self.version, self.replicas)
        self._wait(self.service, self.replicas, self.image)
        if state["canary"] is not None:
            self._scale(self.canary_name, 0)
            self._wait(self.canary_name, 0, image_of(state["canary"], self.container))
        result.update(action="settled", changed=True)
        return result

    def _run_abort(self, state, result, check_mode):
        in_flight = state["target"]
        if not in_flight and state["canary_replicas"] == 0:
            result.update(action="none", changed=False, message="no rollout in progress; nothing to abort")
            return result
        source = state["from"] or state["stable_image"]
        result["rollout_from"] = source
        result["plan"] = [{"percent": 0, "canary_replicas": 0, "stable_replicas": self.replicas, "image": source}]
        if check_mode:
            result.update(action="abort", changed=True)
            return result
        self.rollback(source)
        result.update(action="aborted", changed=True, stable_image=source, paused_at=None,
                      message=f"rollout of {in_flight or 'a canary'} aborted at step {state['step']}%; "
                              f"every pod is back on {source}")
        return result


def _measured_text(measured):
    parts = []
    if measured.get("error_rate") is not None:
        parts.append(f"error rate {measured['error_rate']:.2%}")
    if measured.get("latency_p99_ms") is not None:
        parts.append(f"p99 {measured['latency_p99_ms']:.0f} ms")
    if measured.get("request_rate") is not None:
        parts.append(f"{measured['request_rate']:.2f} req/s")
    return ", ".join(parts) or "no values"
