"""The real ``kubectl logs`` (and raw requests) against democluster's ``pods/{name}/log``."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from tests.democluster.helpers import Democluster, LineReader, unique
from tests.support.stack import wait_for

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z ")


@pytest.fixture
def namespace(democluster: Democluster) -> str:
    name = unique("logs")
    democluster.kubectl(
        "apply", "-f", "-", input=yaml.safe_dump({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    )
    return name


def _apply(democluster: Democluster, namespace: str, manifest: dict) -> None:
    democluster.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(manifest))


def _pod(name: str, containers: list[dict], *, init: list[dict] | None = None, **annotations: str) -> dict:
    spec: dict = {"containers": containers}
    if init:
        spec["initContainers"] = init
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}, "annotations": annotations},
        "spec": spec,
    }


def _phase_running(democluster: Democluster, namespace: str, name: str) -> bool:
    pod = json.loads(democluster.kubectl("get", "pod", name, "-n", namespace, "-o", "json").stdout)
    return all("running" in s["state"] for s in pod["status"].get("containerStatuses") or [{"state": {}}])


def _logs(democluster: Democluster, namespace: str, *args: str, check: bool = True) -> str:
    result = democluster.kubectl("logs", "-n", namespace, *args, check=check)
    return result.stdout if check else result.stdout + result.stderr


def test_it_prints_what_the_hello_job_echoes(democluster: Democluster, namespace: str) -> None:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "hello"},
        "spec": {
            "template": {
                "spec": {
                    "restartPolicy": "OnFailure",
                    "containers": [
                        {
                            "name": "hello",
                            "image": "busybox:1.28",
                            "command": ["sh", "-c", 'echo "Hello, Kubernetes!" && sleep 3600'],
                        }
                    ],
                }
            }
        },
    }
    _apply(democluster, namespace, job)

    def hello() -> str:
        result = democluster.kubectl("logs", "-n", namespace, "job/hello", check=False)
        return result.stdout if result.returncode == 0 else ""

    assert wait_for(hello, timeout=30, what="the Job's log") == "Hello, Kubernetes!\n"


def test_it_reads_the_same_lines_twice_and_honours_tail_since_and_timestamps(
    democluster: Democluster, namespace: str
) -> None:
    _apply(
        democluster,
        namespace,
        _pod("web", [{"name": "web", "image": "nginx:1.25"}], **{"democluster.podium.dev/log-rate": "20"}),
    )
    wait_for(lambda: _phase_running(democluster, namespace, "web"), timeout=30, what="web running")
    wait_for(lambda: len(_logs(democluster, namespace, "web").splitlines()) > 30, timeout=10, what="30 lines")
    whole = _logs(democluster, namespace, "web", "--timestamps").splitlines()
    assert all(STAMP.match(line) for line in whole)
    assert "Configuration complete; ready for start up" in "\n".join(whole[:8])
    assert any('"GET ' in line for line in whole)
    again = _logs(democluster, namespace, "web", "--timestamps").splitlines()
    assert again[: len(whole)] == whole  # deterministic: the same lines, more of them later
    assert len(_logs(democluster, namespace, "web", "--tail=5").splitlines()) == 5
    recent = _logs(democluster, namespace, "web", "--since=1s").splitlines()
    assert 10 <= len(recent) <= 25  # 20 lines a second
    assert len(_logs(democluster, namespace, "web", "--limit-bytes=40")) == 40


def test_it_follows_until_stopped(democluster: Democluster, namespace: str) -> None:
    _apply(
        democluster,
        namespace,
        _pod("chatty", [{"name": "app", "image": "ghcr.io/acme/app:1"}], **{"democluster.podium.dev/log-rate": "10"}),
    )
    wait_for(lambda: _phase_running(democluster, namespace, "chatty"), timeout=30, what="chatty running")
    process = democluster.kubectl_popen("logs", "-n", namespace, "-f", "--tail=0", "chatty")
    try:
        reader = LineReader(process)
        first = reader.next_line_with('"GET ', timeout=10)
        second = reader.next_line_with('"GET ', timeout=10)
        assert first != second
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_it_asks_for_a_container_and_knows_init_containers(democluster: Democluster, namespace: str) -> None:
    init = [{"name": "prepare", "image": "busybox:1.28", "command": ["sh", "-c", "echo preparing the volume; sleep 1"]}]
    containers = [
        {"name": "nginx", "image": "nginx:1.25"},
        {
            "name": "sidecar",
            "image": "busybox:1.28",
            "command": ["sh", "-c", "while true; do echo tick; sleep 1; done"],
        },
    ]
    _apply(democluster, namespace, _pod("two", containers, init=init))
    wait_for(lambda: _phase_running(democluster, namespace, "two"), timeout=30, what="two running")
    response = democluster.request("GET", f"/api/v1/namespaces/{namespace}/pods/two/log")
    assert response.status_code == 400
    assert response.json()["message"] == (
        "a container name must be specified for pod two, choose one of: [prepare nginx sidecar]"
    )
    assert _logs(democluster, namespace, "two", "-c", "prepare") == "preparing the volume\n"
    wait_for(lambda: "tick" in _logs(democluster, namespace, "two", "-c", "sidecar"), timeout=10, what="a tick")
    everything = _logs(democluster, namespace, "two", "--all-containers", "--prefix")
    assert "[pod/two/prepare] preparing the volume" in everything
    assert "[pod/two/nginx] /docker-entrypoint.sh" in everything
    by_label = _logs(democluster, namespace, "-l", "app=two", "-c", "nginx", "--tail=1")
    assert len(by_label.splitlines()) == 1


def test_a_crashed_container_shows_its_last_lines_as_previous(democluster: Democluster, namespace: str) -> None:
    pod = _pod(
        "crasher", [{"name": "app", "image": "ghcr.io/acme/app:1"}], **{"democluster.podium.dev/crash": "exit=3"}
    )
    _apply(democluster, namespace, pod)

    def restarted() -> bool:
        obj = json.loads(democluster.kubectl("get", "pod", "crasher", "-n", namespace, "-o", "json").stdout)
        return any(s.get("restartCount", 0) >= 1 for s in obj["status"].get("containerStatuses") or [])

    wait_for(restarted, timeout=30, what="a restart")
    previous = _logs(democluster, namespace, "crasher", "-p").splitlines()
    assert previous[-1] == "exit status 3"
    assert any(line.startswith("panic: ") for line in previous)


def test_the_errors_are_the_kubelets(democluster: Democluster, namespace: str) -> None:
    _apply(democluster, namespace, _pod("pulling", [{"name": "app", "image": "nginx:1.99-typo"}]))
    _apply(democluster, namespace, _pod("fine", [{"name": "app", "image": "nginx:1.25"}]))
    wait_for(lambda: _phase_running(democluster, namespace, "fine"), timeout=30, what="fine running")

    def pull_error() -> str:
        text = _logs(democluster, namespace, "pulling", check=False)
        return text if "image" in text else ""

    assert 'container "app" in pod "pulling" is waiting to start:' in wait_for(pull_error, timeout=30)
    assert 'previous terminated container "app" in pod "fine" not found' in _logs(
        democluster, namespace, "fine", "-p", check=False
    )
    assert 'pods "missing" not found' in _logs(democluster, namespace, "missing", check=False)
    base = f"/api/v1/namespaces/{namespace}/pods/fine/log"
    unknown = democluster.request("GET", base + "?container=nope")
    assert (unknown.status_code, unknown.json()["message"]) == (400, "container nope is not valid for pod fine")
    negative = democluster.request("GET", base + "?tailLines=-1")
    assert negative.status_code == 422
    assert "tailLines: Invalid value: -1: must be greater than or equal to 0" in negative.json()["message"]
    assert democluster.request("GET", base + "?tailLines=100000000").status_code == 200


def test_a_token_without_pods_log_is_forbidden(democluster: Democluster, namespace: str) -> None:
    _apply(democluster, namespace, _pod("secretive", [{"name": "app", "image": "nginx:1.25"}]))
    response = democluster.request("GET", f"/api/v1/namespaces/{namespace}/pods/secretive/log", token="limited-token")
    assert response.status_code == 403
    assert response.json()["message"] == (
        'pods "secretive" is forbidden: User "system:serviceaccount:democluster:user-1" cannot get resource '
        f'"pods/log" in API group "" '
        f'in the namespace "{namespace}"'
    )


def test_a_run_shorter_than_a_second_still_printed_before_it_ended() -> None:
    # startedAt and finishedAt count whole seconds, so a fast init container often starts and ends in the same one.
    from democluster.logs import Instance, lines_between

    for second in range(50):
        started = 1_800_000_000.0 + second
        init = Instance(
            pod=f"p{second}",
            namespace="default",
            container={"name": "prepare", "command": ["sh", "-c", "echo preparing the volume; sleep 1"]},
            init=True,
            restart=0,
            started=started,
            finished=started,
            exit_code=0,
            container_id="containerd://1",
            rate=0.0,
            pod_ip="",
        )
        assert [text for _, text in lines_between(init, 0, started + 0.001)] == ["preparing the volume"]
