"""A Kubernetes API for the backend tests: kmock's emulator plus a small simulated controller.

kmock keeps objects in memory behind a real HTTP API and merges patches into them. On top of it,
`ClusterEmulator` adds the few API-server behaviours the collection relies on and kmock leaves out:
metadata.generation bumps on spec changes, the status subresource (status writes go only there),
and cluster-scoped Namespaces. `Controller` plays the Deployment controller and the kubelet: it
creates and deletes pods, makes them Ready after a delay (or never, for chosen images), and
reports status only after a lag, so the status seen right after a change describes the old spec.

Only tests import this file; the collection talks to it as to any API server.
"""

import asyncio
import copy
import datetime
import json
import re
import threading
import time
import uuid

import aiohttp.web
import kmock

NAMESPACE_PATH = re.compile(r"^/api/v1/namespaces(?:/([^/]+))?/?$")
RESOURCES = ("v1/pods", "v1/services", "v1/configmaps", "v1/secrets", "v1/serviceaccounts", "apps/v1/deployments")


def merge(base, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(base) if isinstance(base, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge(result.get(key), value)
    return result


def now_text():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_error(code, reason, message):
    return aiohttp.web.json_response({"apiVersion": "v1", "kind": "Status", "status": "Failure", "code": code,
                                      "reason": reason, "message": message}, status=code)


class ClusterEmulator(kmock.KubernetesEmulator):
    """kmock's emulator with generation, the status subresource and namespaces."""

    def __attrs_post_init__(self):
        super().__attrs_post_init__()
        self.namespaces = {}

    async def __call__(self, raw_request):
        match = NAMESPACE_PATH.match(raw_request.path)
        if match:
            return await self._namespace(raw_request, match.group(1))
        return await super().__call__(raw_request)

    async def _namespace(self, raw_request, name):
        body = await raw_request.read()
        data = json.loads(body) if body else {}
        if raw_request.method == "GET" and name is None:
            return aiohttp.web.json_response({"kind": "NamespaceList", "items": list(self.namespaces.values())})
        if raw_request.method == "POST" and name is None:
            name = (data.get("metadata") or {}).get("name")
            if name in self.namespaces:
                return status_error(409, "AlreadyExists", f'namespaces "{name}" already exists')
            data["metadata"].update(uid=str(uuid.uuid4()), creationTimestamp=now_text())
            data["status"] = {"phase": "Active"}
            self.namespaces[name] = data
            return aiohttp.web.json_response(data, status=201)
        if name not in self.namespaces:
            return status_error(404, "NotFound", f'namespaces "{name}" not found')
        if raw_request.method == "GET":
            return aiohttp.web.json_response(self.namespaces[name])
        if raw_request.method == "PATCH":
            self.namespaces[name] = merge(self.namespaces[name], data)
            return aiohttp.web.json_response(self.namespaces[name])
        return status_error(405, "MethodNotAllowed", f"{raw_request.method} on a namespace")

    async def _handle(self, request):
        data = request.data
        if request.resource is not None and isinstance(data, dict):
            if request.action == kmock.action.CREATE:
                data.pop("status", None)
                data.setdefault("metadata", {}).update(generation=1, uid=str(uuid.uuid4()),
                                                       creationTimestamp=now_text())
            elif request.action == kmock.action.UPDATE and request.subresource == "status":
                status = data.get("status")
                data.clear()
                data["status"] = status
            elif request.action == kmock.action.UPDATE and request.subresource is None:
                data.pop("status", None)
                try:
                    old = self.objects[request.resource, request.namespace, request.name].raw
                except (KeyError, ValueError):
                    old = None
                if old is not None:
                    meta = data.get("metadata") or {}
                    for fixed in ("generation", "uid", "creationTimestamp"):
                        meta.pop(fixed, None)
                    if merge(old, data).get("spec") != old.get("spec"):
                        data.setdefault("metadata", {})["generation"] = old["metadata"].get("generation", 1) + 1
        return await super()._handle(request)


def _template_hash(template):
    return str(abs(hash(json.dumps(template, sort_keys=True))) % 10 ** 10)


class Controller:
    """Moves Deployments and their pods towards their spec, slowly and sometimes not at all."""

    def __init__(self, emulator, tick=0.02, ready_after=0.15, status_lag=0.15):
        self.emulator = emulator
        self.tick = tick
        self.ready_after = ready_after
        self.status_lag = status_lag
        self.never_ready = set()  # image references whose pods crash-loop and never become Ready
        self.crash_when_ready = set()  # image references whose pods fall over after being Ready a while
        self.crash_after = None  # seconds Ready before such a pod falls over; ready_after when None
        self.tracked = {}
        self.pods = {}

    async def run(self):
        while True:
            now = time.monotonic()
            for (resource, namespace, name), obj in list(self.emulator.objects.items()):
                if resource.plural == "deployments" and not obj.deleted:
                    self._reconcile(namespace, name, obj, now)
            await asyncio.sleep(self.tick)

    def _put_pod(self, namespace, pod):
        self.emulator.objects["v1/pods", namespace, pod["metadata"]["name"]] = pod

    def _pod(self, namespace, deployment, template, revision, now):
        image = template["spec"]["containers"][0]["image"]
        name = f"{deployment}-{revision[:6]}-{uuid.uuid4().hex[:5]}"
        crash = image in self.never_ready
        pod = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(template["metadata"]["labels"]),
                         "uid": str(uuid.uuid4()), "creationTimestamp": now_text()},
            "spec": copy.deepcopy(template["spec"]),
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
                       "containerStatuses": [{"name": c["name"], "image": c["image"], "ready": False,
                                              "state": {"waiting": {"reason": "CrashLoopBackOff"}} if crash
                                              else {"running": {}}} for c in template["spec"]["containers"]]},
        }
        self._put_pod(namespace, pod)
        return {"name": name, "revision": revision, "ready_at": None if crash else now + self.ready_after,
                "ready": False}

    def _delete_pod(self, namespace, pod):
        try:
            del self.emulator.objects["v1/pods", namespace, pod["name"]]
        except KeyError:
            pass

    def _reconcile(self, namespace, name, obj, now):
        deployment = obj.raw
        spec = deployment.get("spec") or {}
        generation = deployment["metadata"].get("generation", 1)
        track = self.tracked.setdefault((namespace, name), {"generation": None, "since": now, "progress": now,
                                                            "ready": 0})
        if track["generation"] != generation:
            track.update(generation=generation, since=now, progress=now)
        if now - track["since"] < self.status_lag:
            return  # the controller has not caught up with this spec yet: the status stays stale
        pods = self.pods.setdefault((namespace, name), [])
        replicas = spec.get("replicas", 1)
        template = spec.get("template") or {}
        revision = _template_hash(template)

        for pod in pods:
            if not pod["ready"] and pod["ready_at"] is not None and now >= pod["ready_at"]:
                pod["ready"] = True
                stored = self.emulator.objects["v1/pods", namespace, pod["name"]]
                stored.patch({"status": {"conditions": [{"type": "Ready", "status": "True"}],
                                         "containerStatuses": [dict(s, ready=True) for s in
                                                               stored.raw["status"]["containerStatuses"]]}})
                if stored.raw["spec"]["containers"][0]["image"] in self.crash_when_ready:
                    pod["crash_at"] = now + (self.ready_after if self.crash_after is None else self.crash_after)
            elif pod["ready"] and pod.get("crash_at") and now >= pod["crash_at"]:
                pod.update(ready=False, ready_at=None, crash_at=None)
                stored = self.emulator.objects["v1/pods", namespace, pod["name"]]
                stored.patch({"status": {"conditions": [{"type": "Ready", "status": "False"}], "containerStatuses": [
                    dict(s, ready=False, state={"waiting": {"reason": "CrashLoopBackOff"}})
                    for s in stored.raw["status"]["containerStatuses"]]}})
        current = [pod for pod in pods if pod["revision"] == revision]
        old = [pod for pod in pods if pod["revision"] != revision]
        while len(current) < replicas:
            pod = self._pod(namespace, name, template, revision, now)
            pods.append(pod)
            current.append(pod)
        for pod in sorted(current, key=lambda p: p["ready"])[:max(0, len(current) - replicas)]:
            self._delete_pod(namespace, pod)
            pods.remove(pod)
            current.remove(pod)
        ready_current = sum(pod["ready"] for pod in current)
        keep_old = max(0, replicas - ready_current)
        for pod in sorted(old, key=lambda p: p["ready"])[:max(0, len(old) - keep_old)]:
            self._delete_pod(namespace, pod)
            pods.remove(pod)

        if ready_current > track["ready"]:
            track["progress"] = now
        track["ready"] = ready_current
        ready = sum(pod["ready"] for pod in pods)
        complete = len(current) == replicas == ready_current and len(pods) == replicas
        if complete:
            track["progress"] = now
            progressing = {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}
        elif now - track["progress"] > spec.get("progressDeadlineSeconds", 600):
            progressing = {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                           "message": f'ReplicaSet "{name}-{revision[:6]}" has timed out progressing.'}
        else:
            progressing = {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"}
        # As in Kubernetes, Available tolerates maxUnavailable (25%): it is true long before all pods are up.
        available = {"type": "Available", "status": "True" if ready >= replicas - replicas // 4 else "False"}
        status = {"observedGeneration": generation, "replicas": len(pods), "updatedReplicas": len(current),
                  "readyReplicas": ready, "availableReplicas": ready, "unavailableReplicas": len(pods) - ready,
                  "conditions": [available, progressing]}
        if (deployment.get("status") or {}) != status:
            obj.patch({"status": status})


class Cluster:
    """The emulator and the controller on a loop of their own, serving 127.0.0.1 on a free port."""

    def __init__(self, **controller_options):
        self.controller_options = controller_options
        self.port = None
        self.emulator = None
        self.controller = None
        self._loop = None
        self._stop = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="kmock-cluster", daemon=True)
        self._error = None

    def _serve(self):
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # surfaced by start()
            self._error = exc
            self._ready.set()

    async def _main(self):
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with ClusterEmulator() as emulator, kmock.Server(emulator) as server:
            for resource in RESOURCES:
                emulator.resources[resource] = {}
            self.emulator = emulator
            self.controller = Controller(emulator, **self.controller_options)
            task = asyncio.create_task(self.controller.run())
            self.port = server.port
            self._ready.set()
            await self._stop.wait()
            task.cancel()

    def start(self):
        self._thread.start()
        self._ready.wait(30)
        if self._error or not self.port:
            raise RuntimeError(f"the Kubernetes emulator did not start: {self._error!r}")
        return self

    def stop(self):
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def kubeconfig(self, path):
        document = {
            "apiVersion": "v1", "kind": "Config", "current-context": "emulator",
            "clusters": [{"name": "emulator", "cluster": {"server": self.url}}],
            "users": [{"name": "operator", "user": {"token": "emulator-token"}}],
            "contexts": [{"name": "emulator", "context": {"cluster": "emulator", "user": "operator"}}],
        }
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(document, handle)
        return path
