"""The simulated kubelets: Pods the scheduler (scheduler.py) bound to a node move through sandbox creation,
image pulls, init containers, container starts and readiness, emitting the Events a real node emits.

Each scheduled Pod gets one asyncio task (plus one per container) that sleeps through its simulated
timings; the kubelet owns the Pod's status and rewrites it whole from a small model on each step.
Failures are scripted through images, env and annotations (see README.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

from democluster.controllers.base import Context, now_rfc3339
from democluster.resources import CONFIGMAPS, NODES, PODS, SECRETS, Resource
from democluster.store import Obj, Store

log = logging.getLogger("democluster.kubelet")

CRASH_ANNOTATION = "democluster.podium.dev/crash"
NEVER_READY_ANNOTATION = "democluster.podium.dev/never-ready"
BAD_IMAGE_MARKERS = ("typo", "doesnotexist", "bad")
BAD_REGISTRY = "invalid.example"
MAX_BACKOFF = 300.0

CONDITION_ORDER = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")


def normalize_image(image: str) -> str:
    """``nginx:1.14.2`` -> ``docker.io/library/nginx:1.14.2``, as containerd reports it."""
    name = image
    first = name.split("/", 1)[0]
    if "/" not in name:
        name = f"docker.io/library/{name}"
    elif "." not in first and ":" not in first and first != "localhost":
        name = f"docker.io/{name}"
    last = name.rsplit("/", 1)[-1]
    if ":" not in last and "@" not in last:
        name += ":latest"
    return name


def image_id(image: str) -> str:
    repo = normalize_image(image).rsplit(":", 1)[0] if "@" not in image else image.split("@")[0]
    return f"{repo}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def image_size(image: str) -> int:
    return 2_000_000 + int(hashlib.sha256(image.encode()).hexdigest()[:8], 16) % 80_000_000


def image_is_bad(image: str) -> bool:
    tag_part = image.rsplit("/", 1)[-1]
    tag = tag_part.split(":", 1)[1] if ":" in tag_part else ""
    registry = image.split("/", 1)[0] if "/" in image else ""
    return registry == BAD_REGISTRY or any(marker in tag for marker in BAD_IMAGE_MARKERS) or "doesnotexist" in image


def crash_exit_code(pod: Obj, container: Obj) -> int | None:
    """The exit code a scripted crash uses, or None for a container that behaves."""
    annotation = (pod["metadata"].get("annotations") or {}).get(CRASH_ANNOTATION)
    if annotation:
        match = re.search(r"exit=(\d+)", annotation)
        return int(match.group(1)) if match else 1
    for env in container.get("env") or ():
        if env.get("name") == "DEMOCLUSTER_CRASH" and env.get("value") not in (None, "", "0", "false"):
            value = env["value"]
            return int(value) if value.isdigit() and value != "0" else 1
    if "crash" in (container.get("image") or ""):
        return 1
    return None


def never_ready(pod: Obj, container: Obj) -> bool:
    if (pod["metadata"].get("annotations") or {}).get(NEVER_READY_ANNOTATION) == "true":
        return True
    probe = container.get("readinessProbe") or {}
    return ((probe.get("httpGet") or {}).get("path")) == "/never"


def run_seconds(container: Obj) -> float:
    """How long a run-to-completion container runs: the sum of its ``sleep N`` commands, else a second."""
    text = " ".join(str(part) for part in (container.get("command") or []) + (container.get("args") or []))
    sleeps = [float(n) for n in re.findall(r"\bsleep\s+(\d+(?:\.\d+)?)", text)]
    return sum(sleeps) if sleeps else 1.0


def now_micro() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class PodGone(Exception):
    """The Pod was deleted or replaced while its simulation ran."""


def _keys_of(obj: Obj) -> set[str]:
    return set(obj.get("data") or {}) | set(obj.get("binaryData") or {}) | set(obj.get("stringData") or {})


def config_error(store: Store, namespace: str, container: Obj) -> str | None:
    """Why the kubelet cannot make this container's environment (CreateContainerConfigError), in its words."""
    for source in container.get("envFrom") or ():
        for field_name, res, word in (("configMapRef", CONFIGMAPS, "configmap"), ("secretRef", SECRETS, "secret")):
            ref = source.get(field_name)
            if ref and not ref.get("optional") and store.try_get(res, namespace, ref.get("name", "")) is None:
                return f'{word} "{ref.get("name", "")}" not found'
    for env in container.get("env") or ():
        value_from = env.get("valueFrom") or {}
        for field_name, res, word, kind in (
            ("configMapKeyRef", CONFIGMAPS, "configmap", "ConfigMap"),
            ("secretKeyRef", SECRETS, "secret", "Secret"),
        ):
            ref = value_from.get(field_name)
            if not ref:
                continue
            name, key = ref.get("name", ""), ref.get("key", "")
            obj = store.try_get(res, namespace, name)
            if ref.get("optional"):
                continue
            if obj is None:
                return f'{word} "{name}" not found'
            if key not in _keys_of(obj):
                return f"couldn't find key {key} in {kind} {namespace}/{name}"
    return None


def mount_error(store: Store, namespace: str, volumes: list[Obj]) -> tuple[str, str] | None:
    """The first volume the kubelet cannot set up (a missing ConfigMap or Secret), with its FailedMount words."""
    for volume in volumes:
        sources: list[tuple[str, Obj]] = []
        if volume.get("configMap"):
            sources.append(("configMap", volume["configMap"]))
        if volume.get("secret"):
            sources.append(("secret", {**volume["secret"], "name": volume["secret"].get("secretName", "")}))
        for projected in (volume.get("projected") or {}).get("sources") or ():
            for field_name in ("configMap", "secret"):
                if projected.get(field_name):
                    sources.append((field_name, projected[field_name]))
        for field_name, ref in sources:
            res, word = (CONFIGMAPS, "configmap") if field_name == "configMap" else (SECRETS, "secret")
            obj = store.try_get(res, namespace, ref.get("name", ""))
            if ref.get("optional"):
                continue
            if obj is None:
                return volume.get("name", ""), f'{word} "{ref.get("name", "")}" not found'
            missing = [item.get("key", "") for item in ref.get("items") or () if item.get("key") not in _keys_of(obj)]
            if missing:
                return volume.get("name", ""), f"{word} references non-existent config key: {missing[0]}"
    return None


@dataclass
class PodSim:
    """What the kubelet knows about one Pod; ``status()`` renders the API's PodStatus from it."""

    namespace: str
    name: str
    uid: str
    node: str
    host_ip: str
    pod_ip: str = ""
    start_time: str = ""
    sandbox_ready: bool = False
    initialized: bool = False
    init: list[Obj] = field(default_factory=list)
    containers: list[Obj] = field(default_factory=list)
    restart_policy: str = "Always"
    qos_class: str = "BestEffort"
    conditions: dict[str, Obj] = field(default_factory=dict)
    tasks: list[asyncio.Task] = field(default_factory=list)

    def phase(self) -> str:
        if not self.initialized:
            if any("terminated" in s["state"] and s["state"]["terminated"]["exitCode"] for s in self.init) and (
                self.restart_policy == "Never"
            ):
                return "Failed"
            return "Pending"
        running = waiting = stopped = succeeded = 0
        for s in self.containers:
            state = s["state"]
            if "running" in state:
                running += 1
            elif "terminated" in state:
                stopped += 1
                if state["terminated"]["exitCode"] == 0:
                    succeeded += 1
            elif "waiting" in state and s["lastState"].get("terminated"):
                stopped += 1
            else:
                waiting += 1
        if waiting:
            return "Pending"
        if running:
            return "Running"
        if stopped:
            if self.restart_policy == "Always":
                return "Running"
            if stopped == succeeded:
                return "Succeeded"
            if self.restart_policy == "Never":
                return "Failed"
            return "Running"
        return "Pending"

    def set_condition(self, type_: str, value: str, reason: str | None = None, message: str | None = None) -> None:
        old = self.conditions.get(type_)
        cond: Obj = {"type": type_, "status": value}
        cond["lastTransitionTime"] = old["lastTransitionTime"] if old and old["status"] == value else now_rfc3339()
        if reason:
            cond["reason"] = reason
        if message:
            cond["message"] = message
        if cond != old:
            self.conditions[type_] = cond

    def status(self) -> Obj:
        phase = self.phase()
        finished = phase in ("Succeeded", "Failed")
        unready = [s["name"] for s in self.containers if not s["ready"]]
        reason = "PodCompleted" if phase == "Succeeded" else "PodFailed" if phase == "Failed" else None
        self.set_condition("PodReadyToStartContainers", "True" if self.sandbox_ready and not finished else "False")
        if self.initialized:
            self.set_condition("Initialized", "True", reason)
        else:
            pending = [s["name"] for s in self.init if "terminated" not in s["state"]]
            self.set_condition(
                "Initialized",
                "False",
                "ContainersNotInitialized",
                f"containers with incomplete status: [{' '.join(pending)}]",
            )
        if unready:
            message = f"containers with unready status: [{' '.join(unready)}]"
            self.set_condition("Ready", "False", reason or "ContainersNotReady", None if reason else message)
            self.set_condition("ContainersReady", "False", reason or "ContainersNotReady", None if reason else message)
        else:
            self.set_condition("Ready", "True")
            self.set_condition("ContainersReady", "True")
        status: Obj = {
            "phase": phase,
            "conditions": [self.conditions[t] for t in CONDITION_ORDER if t in self.conditions],
            "hostIP": self.host_ip,
            "hostIPs": [{"ip": self.host_ip}],
        }
        if self.pod_ip:
            status["podIP"] = self.pod_ip
            status["podIPs"] = [{"ip": self.pod_ip}]
        status["startTime"] = self.start_time
        if self.init:
            status["initContainerStatuses"] = [dict(s) for s in self.init]
        status["containerStatuses"] = [dict(s) for s in self.containers]
        status["qosClass"] = self.qos_class
        return status

    def find(self, name: str, init: bool) -> Obj:
        return next(s for s in (self.init if init else self.containers) if s["name"] == name)


def waiting_status(container: Obj, reason: str, message: str | None = None) -> Obj:
    waiting: Obj = {"reason": reason}
    if message:
        waiting["message"] = message
    return {
        "name": container["name"],
        "image": container.get("image", ""),
        "imageID": "",
        "lastState": {},
        "ready": False,
        "restartCount": 0,
        "started": False,
        "state": {"waiting": waiting},
    }


class Kubelet:
    """Every node's kubelet, in one object."""

    name = "kubelet"

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.config = ctx.config
        self.index = ctx.index
        self.recorder = ctx.recorder
        self.sims: dict[str, PodSim] = {}  # by pod uid
        self.lifecycles: dict[str, asyncio.Task] = {}
        self.terminations: dict[str, asyncio.Task] = {}
        self.node_images: dict[str, set[str]] = {}
        self.ip_counters: dict[str, int] = {}
        self.started = False

    # --- store events -------------------------------------------------------------------------

    def on_change(self, type_: str, res: Resource, old: Obj | None, new: Obj) -> None:
        if res is not PODS:
            return
        m = new["metadata"]
        if type_ == "DELETED":
            self._cancel(m["uid"])
            return
        if not (new.get("spec") or {}).get("nodeName"):
            return
        if not self.started:
            return
        self.notice(new)

    def notice(self, pod: Obj) -> None:
        m = pod["metadata"]
        uid = m["uid"]
        if m.get("deletionTimestamp"):
            if uid not in self.terminations:
                self.terminations[uid] = asyncio.get_running_loop().create_task(self.terminate(pod))
            return
        status = pod.get("status") or {}
        if uid not in self.lifecycles and not status.get("startTime") and status.get("phase", "Pending") == "Pending":
            self.lifecycles[uid] = asyncio.get_running_loop().create_task(self.lifecycle(pod))

    def _cancel(self, uid: str) -> None:
        task = self.lifecycles.pop(uid, None)
        if task is not None:
            task.cancel()
        sim = self.sims.pop(uid, None)
        if sim is not None:
            for t in sim.tasks:
                t.cancel()
        self.terminations.pop(uid, None)

    async def run(self) -> None:
        self.started = True
        # Pods bound before the kubelet started (a loaded snapshot, a Pod created with nodeName).
        for pod in self.store.list(PODS):
            if (pod.get("spec") or {}).get("nodeName"):
                self.notice(pod)
        await asyncio.Event().wait()  # the Pods' own tasks do the rest

    # --- helpers ------------------------------------------------------------------------------

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(self.config.delay(seconds))

    def write(self, sim: PodSim) -> None:
        pod = self.store.try_get(PODS, sim.namespace, sim.name)
        if pod is None or pod["metadata"]["uid"] != sim.uid:
            raise PodGone
        self.store.update(PODS, {**pod, "status": sim.status()}, subresource="status")

    def event(
        self, sim: PodSim, container: Obj | None, type_: str, reason: str, message: str, init: bool = False
    ) -> None:
        pod = self.store.try_get(PODS, sim.namespace, sim.name)
        if pod is None or pod["metadata"]["uid"] != sim.uid:
            raise PodGone
        field_path = None
        if container is not None:
            field_path = f"spec.{'initContainers' if init else 'containers'}{{{container['name']}}}"
        self.recorder.record(
            PODS,
            pod,
            type_,
            reason,
            message,
            component="kubelet",
            host=sim.node,
            field_path=field_path,
            instance=sim.node,
        )

    def node_ip(self, node: str) -> str:
        obj = self.store.try_get(NODES, None, node)
        for address in ((obj or {}).get("status") or {}).get("addresses") or ():
            if address.get("type") == "InternalIP":
                return address["address"]
        return "172.18.0.2"

    def allocate_ip(self, node: str) -> str:
        obj = self.store.try_get(NODES, None, node)
        cidr = ((obj or {}).get("spec") or {}).get("podCIDR") or "10.244.0.0/24"
        prefix = cidr.split("/")[0].rsplit(".", 1)[0]
        n = self.ip_counters.get(node, 1) % 253 + 1
        self.ip_counters[node] = n
        return f"{prefix}.{n}"

    # --- the Pod lifecycle --------------------------------------------------------------------

    async def lifecycle(self, pod: Obj) -> None:
        m, spec = pod["metadata"], pod["spec"]
        node = spec["nodeName"]
        sim = PodSim(
            namespace=m["namespace"],
            name=m["name"],
            uid=m["uid"],
            node=node,
            host_ip=self.node_ip(node),
            restart_policy=spec.get("restartPolicy", "Always"),
            qos_class=(pod.get("status") or {}).get("qosClass", "BestEffort"),
            start_time=now_rfc3339(),
        )
        sim.set_condition("PodScheduled", "True")
        self.sims[sim.uid] = sim
        init_containers = spec.get("initContainers") or []
        containers = spec.get("containers") or []
        try:
            sim.initialized = not init_containers
            waiting_reason = "PodInitializing" if init_containers else "ContainerCreating"
            sim.init = [waiting_status(c, "PodInitializing") for c in init_containers]
            sim.containers = [waiting_status(c, waiting_reason) for c in containers]
            self.write(sim)
            await self.mount_volumes(sim, spec.get("volumes") or [])
            await self.sleep(random.uniform(0.4, 0.9))  # the sandbox and its network
            sim.sandbox_ready = True
            sim.pod_ip = self.allocate_ip(node)
            self.write(sim)
            for container in init_containers:
                if not await self.run_container(sim, pod, container, init=True):
                    return
            if init_containers:
                sim.initialized = True
                self.write(sim)
            for container in containers:
                task = asyncio.get_running_loop().create_task(self.run_container(sim, pod, container, init=False))
                sim.tasks.append(task)
                # The kubelet starts containers one after another.
                await asyncio.sleep(self.config.delay(0.1))
            await asyncio.gather(*sim.tasks)
        except PodGone:
            pass
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("pod %s/%s simulation failed", sim.namespace, sim.name)
        finally:
            if self.lifecycles.get(sim.uid) is asyncio.current_task():
                self.lifecycles.pop(sim.uid, None)

    async def mount_volumes(self, sim: PodSim, volumes: list[Obj]) -> None:
        """Wait, as the kubelet's volume manager does, until every ConfigMap and Secret a volume needs exists."""
        backoff = 0.5
        while (problem := mount_error(self.store, sim.namespace, volumes)) is not None:
            volume, reason = problem
            self.event(
                sim, None, "Warning", "FailedMount", f'MountVolume.SetUp failed for volume "{volume}" : {reason}'
            )
            await self.sleep(backoff)
            backoff = min(backoff * 2, 16.0)

    async def pull(self, sim: PodSim, container: Obj, init: bool) -> bool:
        """Pull an image (or find it present); False after a failed pull, with the container in back-off."""
        image = container.get("image", "")
        images = self.node_images.setdefault(sim.node, set())
        policy = container.get("imagePullPolicy", "IfNotPresent")
        if policy != "Always" and image in images and not image_is_bad(image):
            self.event(
                sim, container, "Normal", "Pulled", f'Container image "{image}" already present on machine', init
            )
            return True
        self.event(sim, container, "Normal", "Pulling", f'Pulling image "{image}"', init)
        nominal = random.uniform(1.0, 3.0) if image not in images else random.uniform(0.3, 0.8)
        await self.sleep(nominal)
        if image_is_bad(image):
            ref = normalize_image(image)
            detail = (
                f'rpc error: code = NotFound desc = failed to pull and unpack image "{ref}": '
                f'failed to resolve reference "{ref}": {ref}: not found'
            )
            if image.startswith(BAD_REGISTRY):
                detail = (
                    f'rpc error: code = Unknown desc = failed to pull and unpack image "{ref}": failed to resolve '
                    f'reference "{ref}": failed to do request: Head "https://{BAD_REGISTRY}/v2/": dial tcp: '
                    f"lookup {BAD_REGISTRY}: no such host"
                )
            self.event(sim, container, "Warning", "Failed", f'Failed to pull image "{image}": {detail}', init)
            self.event(sim, container, "Warning", "Failed", "Error: ErrImagePull", init)
            sim.find(container["name"], init)["state"] = {"waiting": {"reason": "ErrImagePull", "message": detail}}
            self.write(sim)
            return False
        images.add(image)
        size = image_size(image)
        self.event(
            sim,
            container,
            "Normal",
            "Pulled",
            f'Successfully pulled image "{image}" in {nominal:.3f}s ({nominal:.3f}s including waiting). '
            f"Image size: {size} bytes.",
            init,
        )
        return True

    async def run_container(self, sim: PodSim, pod: Obj, container: Obj, *, init: bool) -> bool:
        """Pull, create, start and run one container; returns True once an init container completed."""
        image = container.get("image", "")
        status = sim.find(container["name"], init)
        backoff = 10.0
        while not await self.pull(sim, container, init):
            self.event(sim, container, "Normal", "BackOff", f'Back-off pulling image "{image}"', init)
            self.event(sim, container, "Warning", "Failed", "Error: ImagePullBackOff", init)
            detail = status["state"]["waiting"].get("message", "")
            status["state"] = {
                "waiting": {
                    "reason": "ImagePullBackOff",
                    "message": f'Back-off pulling image "{image}": ErrImagePull: {detail}',
                }
            }
            self.write(sim)
            await self.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)
        config_backoff = 10.0
        while (problem := config_error(self.store, sim.namespace, container)) is not None:
            status["state"] = {"waiting": {"reason": "CreateContainerConfigError", "message": problem}}
            self.write(sim)
            self.event(sim, container, "Warning", "Failed", f"Error: {problem}", init)
            await self.sleep(config_backoff)
            config_backoff = min(config_backoff * 2, MAX_BACKOFF)
            self.event(
                sim, container, "Normal", "Pulled", f'Container image "{image}" already present on machine', init
            )
        crash_code = crash_exit_code(pod, container)
        run_to_completion = init or sim.restart_policy != "Always"
        restart_backoff = 10.0
        while True:
            await self.sleep(random.uniform(0.2, 0.5))  # creating the container
            container_id = f"containerd://{secrets.token_hex(32)}"
            self.event(sim, container, "Normal", "Created", f"Created container: {container['name']}", init)
            started_at = now_rfc3339()
            status.update(
                containerID=container_id,
                image=normalize_image(image),
                imageID=image_id(image),
                started=not init,
                state={"running": {"startedAt": started_at}},
            )
            ready_task = None
            if not init:
                ready_task = asyncio.get_running_loop().create_task(self.readiness(sim, pod, container, status))
                sim.tasks.append(ready_task)
            self.write(sim)
            self.event(sim, container, "Normal", "Started", f"Started container {container['name']}", init)
            if crash_code is not None:
                await self.sleep(random.uniform(1.0, 2.0))
                exit_code = crash_code
            elif run_to_completion:
                await self.sleep(run_seconds(container))
                exit_code = 0
            else:
                await asyncio.Event().wait()  # runs until the Pod is deleted (the task is cancelled)
                exit_code = 0
            if ready_task is not None:
                ready_task.cancel()
            terminated = {
                "exitCode": exit_code,
                "reason": "Completed" if exit_code == 0 else "Error",
                "startedAt": started_at,
                "finishedAt": now_rfc3339(),
                "containerID": container_id,
            }
            restart = sim.restart_policy == "Always" or (sim.restart_policy == "OnFailure" and exit_code != 0)
            if not restart:
                status.update(ready=init and exit_code == 0, started=False, state={"terminated": terminated})
                self.write(sim)
                return exit_code == 0
            if init and exit_code == 0:
                status.update(ready=True, started=False, state={"terminated": terminated})
                self.write(sim)
                return True
            message = (
                f"back-off {int(restart_backoff)}s restarting failed container={container['name']} "
                f"pod={sim.name}_{sim.namespace}({sim.uid})"
            )
            status.update(
                ready=False,
                started=False,
                restartCount=status["restartCount"] + 1,
                lastState={"terminated": terminated},
                state={"waiting": {"reason": "CrashLoopBackOff", "message": message}},
            )
            self.write(sim)
            self.event(
                sim,
                container,
                "Warning",
                "BackOff",
                f"Back-off restarting failed container {container['name']} in pod "
                f"{sim.name}_{sim.namespace}({sim.uid})",
                init,
            )
            await self.sleep(restart_backoff)
            restart_backoff = min(restart_backoff * 2, MAX_BACKOFF)
            self.event(
                sim, container, "Normal", "Pulled", f'Container image "{image}" already present on machine', init
            )

    async def readiness(self, sim: PodSim, pod: Obj, container: Obj, status: Obj) -> None:
        probe = container.get("readinessProbe")
        try:
            if probe is None:
                status["ready"] = True
                self.write(sim)
                return
            await self.sleep(probe.get("initialDelaySeconds", 0) + random.uniform(0.2, 1.0))
            if never_ready(pod, container):
                period = max(probe.get("periodSeconds", 10), 1)
                while True:
                    self.event(
                        sim,
                        container,
                        "Warning",
                        "Unhealthy",
                        "Readiness probe failed: HTTP probe failed with statuscode: 503",
                    )
                    await self.sleep(period)
            status["ready"] = True
            self.write(sim)
        except PodGone:
            pass

    # --- termination --------------------------------------------------------------------------

    async def terminate(self, pod: Obj) -> None:
        m = pod["metadata"]
        uid = m["uid"]
        task = self.lifecycles.pop(uid, None)
        sim = self.sims.get(uid)
        if task is not None:
            task.cancel()
        if sim is not None:
            for t in sim.tasks:
                t.cancel()
        try:
            grace = m.get("deletionGracePeriodSeconds") or 0
            if sim is not None:
                running = [
                    c for c in pod["spec"].get("containers") or () if "running" in sim.find(c["name"], False)["state"]
                ]
                for container in running:
                    self.event(sim, container, "Normal", "Killing", f"Stopping container {container['name']}")
                await asyncio.sleep(self.config.delay(min(grace, random.uniform(1.0, 2.5))))
                for status in sim.containers:
                    if "running" in status["state"]:
                        status.update(
                            ready=False,
                            started=False,
                            state={
                                "terminated": {
                                    "exitCode": 0,
                                    "reason": "Completed",
                                    "startedAt": status["state"]["running"]["startedAt"],
                                    "finishedAt": now_rfc3339(),
                                    "containerID": status.get("containerID", ""),
                                }
                            },
                        )
                sim.sandbox_ready = False
                self.write(sim)
            else:
                await asyncio.sleep(self.config.delay(min(grace, 0.5)))
        except PodGone:
            pass
        finally:
            self.sims.pop(uid, None)
            current = self.store.try_get(PODS, m["namespace"], m["name"])
            if current is not None and current["metadata"]["uid"] == uid:
                self.store.remove(PODS, m["namespace"], m["name"])
            self.terminations.pop(uid, None)


def node_object(index: int, total: int) -> Obj:
    """A Node as a kind cluster's worker reports it."""
    name = f"node-{index}"
    ip = f"172.18.0.{index + 1}"
    digest = hashlib.sha256(name.encode()).hexdigest()
    capacity = {
        "cpu": "8",
        "ephemeral-storage": "102626232Ki",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "memory": "16371060Ki",
        "pods": "110",
    }
    now = now_rfc3339()
    conditions = [
        ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
    ]
    return {
        "metadata": {
            "name": name,
            "labels": {
                "beta.kubernetes.io/arch": "amd64",
                "beta.kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
            },
            "annotations": {
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
        },
        "spec": {
            "podCIDR": f"10.244.{index}.0/24",
            "podCIDRs": [f"10.244.{index}.0/24"],
            "providerID": f"kind://docker/democluster/{name}",
        },
        "status": {
            "capacity": capacity,
            "allocatable": dict(capacity),
            "conditions": [
                {
                    "type": t,
                    "status": s,
                    "lastHeartbeatTime": now,
                    "lastTransitionTime": now,
                    "reason": r,
                    "message": msg,
                }
                for t, s, r, msg in conditions
            ],
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}",
                "containerRuntimeVersion": "containerd://1.7.24",
                "kernelVersion": "6.1.0-28-amd64",
                "kubeProxyVersion": "v1.32.0",
                "kubeletVersion": "v1.32.0",
                "machineID": digest[32:64],
                "operatingSystem": "linux",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "systemUUID": f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}",
            },
        },
    }


def ensure_nodes(ctx: Context) -> None:
    for i in range(1, ctx.config.nodes + 1):
        if ctx.store.try_get(NODES, None, f"node-{i}") is None:
            ctx.store.create(NODES, node_object(i, ctx.config.nodes))


__all__ = ["Kubelet", "ensure_nodes", "normalize_image", "PodSim"]
