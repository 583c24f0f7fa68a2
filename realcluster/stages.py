"""kwok stages for the real control plane: what the kubelet of a fake node does to its Nodes and Pods.

The same scriptable failures as democluster (see democluster/README.md), so that one test text
works on both clusters:
- an image whose tag contains ``typo``, ``bad`` or ``doesnotexist`` (or the registry
  ``invalid.example``) stays Pending in ``ErrImagePull`` / ``ImagePullBackOff`` with ``Failed`` and
  ``BackOff`` Events;
- the annotation ``democluster.podium.dev/crash: "exit=N"`` crashes every container with code N
  after it starts, then ``CrashLoopBackOff`` with ``restartCount`` counting up;
- ``democluster.podium.dev/never-ready: "true"`` on a Pod with a readiness probe runs the containers but
  never passes readiness;
- otherwise Pods become Running and Ready after a short delay; Pods of Jobs then complete.

Every stage's selector excludes the state it writes, or kwok would apply it again and again.
Written for Podium (kwok's own stages were read for the format only).
"""

from __future__ import annotations

from typing import Any

import yaml

CRASH = "democluster.podium.dev/crash"
NEVER_READY = "democluster.podium.dev/never-ready"
BAD_IMAGE = (
    r'.spec.containers | map(.image | test(":[^/]*(typo|bad|doesnotexist)|doesnotexist|^invalid\\.example/")) | any'
)
JOB_OWNED = '[.metadata.ownerReferences[]? | select(.kind == "Job")] | length > 0'
CRASHES = f'.metadata.annotations["{CRASH}"] // "" | test("exit=[0-9]+")'
# As democluster's kubelet: readiness can only fail where a container has a readiness probe.
NEVER = (
    '(if (.spec.containers | map(has("readinessProbe")) | any) '
    f'then (.metadata.annotations["{NEVER_READY}"] // "") else "" end)'
)
FIRST_WAITING = ".status.containerStatuses[0].state.waiting.reason"
FIRST_RUNNING = ".status.containerStatuses[0].state.running.startedAt"


def jq(key: str, operator: str, *values: str) -> dict[str, Any]:
    expression: dict[str, Any] = {"key": key, "operator": operator}
    if values:
        expression["values"] = list(values)
    return {"jq": expression}


NOT_DELETED = jq(".metadata.deletionTimestamp", "DoesNotExist")


def conditions(*, ready: bool, reason: str = "") -> str:
    """The Pod's conditions, all written at once (a merge patch replaces the list)."""
    ready_status = "True" if ready else "False"
    why = f"\n  reason: {reason}" if reason and not ready else ""
    lines = []
    for kind, status in (
        ("PodReadyToStartContainers", "True"),
        ("Initialized", "True"),
        ("Ready", ready_status),
        ("ContainersReady", ready_status),
        ("PodScheduled", "True"),
    ):
        extra = why if kind in ("Ready", "ContainersReady") else ""
        lines.append(
            f"- type: {kind}\n  status: '{status}'\n  lastProbeTime: null\n"
            f"  lastTransitionTime: {{{{ $now | Quote }}}}{extra}"
        )
    return "conditions:\n" + "\n".join(lines)


def container_statuses(state: str, *, ready: str = "false", restarts: str = "0", last: str = "") -> str:
    """One status per container of the template, in ``state`` (a YAML mapping, indented 4)."""
    return f"""containerStatuses:
{{{{ range $i, $c := .spec.containers }}}}
- name: {{{{ $c.name | Quote }}}}
  image: {{{{ $c.image | Quote }}}}
  imageID: ''
  ready: {ready}
  started: {"true" if "running" in state else "false"}
  restartCount: {restarts}
  state:
{state}
  lastState: {last or "{}"}
{{{{ end }}}}"""


def init_statuses() -> str:
    return """initContainerStatuses:
{{ range $i, $c := .spec.initContainers }}
- name: {{ $c.name | Quote }}
  image: {{ $c.image | Quote }}
  imageID: ''
  ready: true
  started: false
  restartCount: 0
  state:
    terminated:
      exitCode: 0
      reason: Completed
      startedAt: {{ $now | Quote }}
      finishedAt: {{ $now | Quote }}
{{ end }}"""


def status(*parts: str, phase: str = "Pending") -> str:
    return "{{ $now := Now }}\n" + f"phase: {phase}\n" + "\n".join(parts)


def stage(
    name: str,
    kind: str,
    selector: list[dict[str, Any]],
    *,
    status_template: str = "",
    delay_ms: int = 0,
    jitter_ms: int = 0,
    event: tuple[str, str, str] | None = None,
    delete: bool = False,
) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    if event:
        steps.append({"event": {"type": event[0], "reason": event[1], "message": event[2]}})
    if status_template:
        steps.append(
            {"patch": {"subresource": "status", "root": "status", "template": status_template, "type": "merge"}}
        )
    if delete:
        steps.append({"finalizers": {"empty": True}})
        steps.append({"delete": True})
    spec: dict[str, Any] = {
        "resourceRef": {"apiGroup": "v1", "kind": kind},
        "selector": {"matchExpressions": selector},
        "steps": steps,
    }
    if delay_ms or jitter_ms:
        spec["delay"] = {"durationMilliseconds": delay_ms}
        if jitter_ms:
            spec["delay"]["jitterDurationMilliseconds"] = delay_ms + jitter_ms
    return {"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Stage", "metadata": {"name": name}, "spec": spec}


WAITING_CREATING = "    waiting:\n      reason: ContainerCreating"
RUNNING = "    running:\n      startedAt: {{ $now | Quote }}"


def node_stages() -> list[dict[str, Any]]:
    node_status = """{{ $now := Now }}
conditions:
{{ range NodeConditions }}
- type: {{ .type | Quote }}
  status: {{ .status | Quote }}
  reason: {{ .reason | Quote }}
  message: {{ .message | Quote }}
  lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ $now | Quote }}
{{ end }}
addresses:
- type: InternalIP
  address: {{ NodeIP | Quote }}
- type: Hostname
  address: {{ .metadata.name | Quote }}
allocatable: {cpu: '32', memory: 256Gi, pods: '250', ephemeral-storage: 1Ti}
capacity: {cpu: '32', memory: 256Gi, pods: '250', ephemeral-storage: 1Ti}
daemonEndpoints: {kubeletEndpoint: {Port: KUBELET_PORT}}
nodeInfo:
  architecture: amd64
  operatingSystem: linux
  kubeletVersion: KUBELET_VERSION
  kubeProxyVersion: ''
  containerRuntimeVersion: 'kwok'
  kernelVersion: ''
  osImage: ''
  machineID: ''
  systemUUID: ''
  bootID: ''
phase: Running"""
    return [
        stage(
            "podium-node-initialize",
            "Node",
            [NOT_DELETED, jq('.status.conditions[]? | select(.type == "Ready") | .status', "NotIn", "True")],
            status_template=node_status,
        ),
        stage(
            "podium-node-heartbeat",
            "Node",
            [NOT_DELETED, jq('.status.conditions[]? | select(.type == "Ready") | .status', "In", "True")],
            status_template="""{{ $now := Now }}
conditions:
{{ range .status.conditions }}
- type: {{ .type | Quote }}
  status: {{ .status | Quote }}
  reason: {{ .reason | Quote }}
  message: {{ .message | Quote }}
  lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ .lastTransitionTime | Quote }}
{{ end }}""",
            delay_ms=20000,
            jitter_ms=5000,
        ),
    ]


def pod_stages() -> list[dict[str, Any]]:
    network = (
        "hostIP: {{ NodeIP | Quote }}\nhostIPs: [{ip: {{ NodeIP | Quote }}}]\n"
        "podIP: {{ PodIP | Quote }}\npodIPs: [{ip: {{ PodIP | Quote }}}]\nstartTime: {{ $now | Quote }}"
    )
    creating = [NOT_DELETED, jq(".status.phase", "In", "Pending"), jq(FIRST_WAITING, "In", "ContainerCreating")]
    crash_exit = '{{ $code := regexFind "[0-9]+" (index .metadata.annotations "' + CRASH + '") }}'
    last_terminated = (
        "\n    terminated:\n      exitCode: {{ $code }}\n      reason: Error\n"
        "      startedAt: {{ $now | Quote }}\n      finishedAt: {{ $now | Quote }}\n"
        # As a kubelet reports it (and what `kubectl logs -p` needs): the exited container's id.
        '      containerID: {{ printf "containerd://%s" (printf "%s-%v-%v" $.metadata.uid $i'
        " (index $.status.containerStatuses $i).restartCount | sha256sum) | Quote }}"
    )
    restarts = "{{ add (index $.status.containerStatuses $i).restartCount 1 }}"
    previous_last = "{{ (index $.status.containerStatuses $i).lastState | toJson }}"
    crashing = [
        NOT_DELETED,
        jq(BAD_IMAGE, "In", "false"),
        jq(CRASHES, "In", "true"),
        jq(".spec.restartPolicy", "NotIn", "Never"),
    ]
    same_restarts = "{{ (index $.status.containerStatuses $i).restartCount }}"
    return [
        stage(
            "podium-pod-create",
            "Pod",
            [NOT_DELETED, jq(".status.podIP", "DoesNotExist"), jq(".status.phase", "NotIn", "Succeeded", "Failed")],
            status_template=status(
                conditions(ready=False, reason="ContainersNotReady"),
                container_statuses(WAITING_CREATING),
                init_statuses(),
                network,
            ),
            delay_ms=100,
            jitter_ms=300,
        ),
        # An image that cannot be pulled: ErrImagePull, then ImagePullBackOff, and it stays there.
        stage(
            "podium-pod-image-pull-error",
            "Pod",
            [*creating, jq(BAD_IMAGE, "In", "true")],
            status_template=status(
                conditions(ready=False, reason="ContainersNotReady"),
                container_statuses(
                    "    waiting:\n      reason: ErrImagePull\n"
                    '      message: {{ printf "failed to pull and unpack image %q: not found" $c.image | Quote }}'
                ),
            ),
            event=("Warning", "Failed", "Failed to pull image: not found; Error: ErrImagePull"),
            delay_ms=800,
            jitter_ms=400,
        ),
        stage(
            "podium-pod-image-pull-backoff",
            "Pod",
            [NOT_DELETED, jq(FIRST_WAITING, "In", "ErrImagePull")],
            status_template=status(
                conditions(ready=False, reason="ContainersNotReady"),
                container_statuses(
                    "    waiting:\n      reason: ImagePullBackOff\n"
                    '      message: {{ printf "Back-off pulling image %q" $c.image | Quote }}'
                ),
            ),
            event=("Normal", "BackOff", "Back-off pulling image"),
            delay_ms=1000,
        ),
        # Pods that behave: Running and Ready.
        stage(
            "podium-pod-ready",
            "Pod",
            [*creating, jq(BAD_IMAGE, "In", "false"), jq(CRASHES, "In", "false"), jq(NEVER, "NotIn", "true")],
            status_template=status(conditions(ready=True), container_statuses(RUNNING, ready="true"), phase="Running"),
            event=("Normal", "Started", "Started container"),
            delay_ms=800,
            jitter_ms=700,
        ),
        # Readiness that never passes.
        stage(
            "podium-pod-never-ready",
            "Pod",
            [*creating, jq(BAD_IMAGE, "In", "false"), jq(CRASHES, "In", "false"), jq(NEVER, "In", "true")],
            status_template=status(
                conditions(ready=False, reason="ContainersNotReady"),
                container_statuses(RUNNING, ready="false"),
                phase="Running",
            ),
            event=("Warning", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503"),
            delay_ms=800,
            jitter_ms=700,
        ),
        # A crashing container: it starts, exits with the annotation's code, and backs off.
        stage(
            "podium-pod-crash-start",
            "Pod",
            [*crashing, jq(FIRST_WAITING, "In", "ContainerCreating")],
            # Running without a readiness probe is ready, as a kubelet says, until the crash.
            status_template=status(
                conditions(ready=True),
                container_statuses(RUNNING, ready="true"),
                phase="Running",
            ),
            event=("Normal", "Started", "Started container"),
            delay_ms=600,
        ),
        # CrashLoopBackOff: a real kubelet waits 10 s, doubling; here a few seconds, always.
        stage(
            "podium-pod-crash-restart",
            "Pod",
            [*crashing, jq(FIRST_WAITING, "In", "CrashLoopBackOff")],
            status_template=status(
                conditions(ready=True),
                container_statuses(RUNNING, ready="true", restarts=same_restarts, last=previous_last),
                phase="Running",
            ),
            event=("Normal", "Started", "Started container"),
            delay_ms=4000,
            jitter_ms=2000,
        ),
        stage(
            "podium-pod-crash-exit",
            "Pod",
            [
                NOT_DELETED,
                jq(CRASHES, "In", "true"),
                jq(FIRST_RUNNING, "Exists"),
                jq(".spec.restartPolicy", "NotIn", "Never"),
            ],
            status_template=crash_exit
            + "\n"
            + status(
                conditions(ready=False, reason="ContainersNotReady"),
                container_statuses(
                    "    waiting:\n      reason: CrashLoopBackOff\n      message: back-off restarting failed container",
                    restarts=restarts,
                    last=last_terminated,
                ),
                phase="Running",
            ),
            event=("Warning", "BackOff", "Back-off restarting failed container"),
            delay_ms=1000,
        ),
        # A Job's crashing Pod (restartPolicy Never) fails, which counts against backoffLimit.
        stage(
            "podium-pod-crash-fail",
            "Pod",
            [*creating, jq(CRASHES, "In", "true"), jq(".spec.restartPolicy", "In", "Never")],
            status_template=crash_exit
            + "\n"
            + status(
                conditions(ready=False, reason="PodFailed"),
                container_statuses(
                    "    terminated:\n      exitCode: {{ $code }}\n      reason: Error\n"
                    "      startedAt: {{ $now | Quote }}\n      finishedAt: {{ $now | Quote }}"
                ),
                phase="Failed",
            ),
            delay_ms=1000,
        ),
        # A Job's Pod that ran: Succeeded.
        stage(
            "podium-pod-complete",
            "Pod",
            [
                NOT_DELETED,
                jq(".status.phase", "In", "Running"),
                jq(JOB_OWNED, "In", "true"),
                jq(CRASHES, "In", "false"),
                jq(FIRST_RUNNING, "Exists"),
            ],
            status_template=status(
                conditions(ready=False, reason="PodCompleted"),
                container_statuses(
                    "    terminated:\n      exitCode: 0\n      reason: Completed\n"
                    "      startedAt: {{ $now | Quote }}\n      finishedAt: {{ $now | Quote }}"
                ),
                phase="Succeeded",
            ),
            delay_ms=1500,
            jitter_ms=500,
        ),
        # Deleted: the containers stop, the kubelet removes the Pod.
        stage(
            "podium-pod-delete",
            "Pod",
            [jq(".metadata.deletionTimestamp", "Exists")],
            delete=True,
            delay_ms=300,
        ),
    ]


def stages_yaml(kube_version: str, kubelet_port: int = 10250) -> str:
    """The stages, with Nodes reporting the control plane's version as their kubelet's, and kwok's server
    (which serves container logs) as their kubelet's endpoint."""
    text = yaml.safe_dump_all([*node_stages(), *pod_stages()], sort_keys=False)
    return text.replace("KUBELET_VERSION", kube_version).replace("KUBELET_PORT", str(kubelet_port))
