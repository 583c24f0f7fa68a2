"""Log pages: one Pod's container, or a workload's Pods merged. A plain GET reads once (and works without
JavaScript); the page's script then follows through the logs socket (``workloads.logs.consumers``)."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _

from workloads import access, kinds, kube, roles
from workloads.browse import lookups
from workloads.logs import reading
from workloads.logs.forms import PodLogForm, WorkloadLogForm
from workloads.logs.text import Line, highlight, pod_colour
from workloads.models import Cluster, Pod, Workload

READ_LIMIT_BYTES = 8 * 1024 * 1024  # one read never brings more than this into memory


def _download(lines: list[Line], filename: str, timestamps: bool, *, source: bool = False) -> HttpResponse:
    body = "".join(
        (f"{ln.stamp} " if timestamps and ln.stamp else "")
        + (f"[{ln.pod}/{ln.container}] " if source else "")  # as kubectl logs --prefix
        + ln.text
        + "\n"
        for ln in lines
    )
    response = HttpResponse(body, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _live_pod(cluster: Cluster, namespace: str, name: str) -> Pod:
    if not access.may_see(cluster, namespace):
        raise Http404(_("Not found in the mirror"))
    qs = Pod.objects.filter(cluster=cluster, namespace=namespace, name=name)
    pod = qs.live().first() or qs.order_by("-deleted_at").first()
    if pod is None:
        raise Http404(_("Not found in the mirror"))
    return pod


def _forbidden(request: HttpRequest, back_url: str, reason: str = "") -> HttpResponse:
    context = {"back_url": back_url, "reason": reason}
    return render(request, "workloads/logs/forbidden.html", context, status=403)


@permission_required(roles.VIEW, raise_exception=True)
def pod_logs(request: HttpRequest, cluster: str, namespace: str, name: str) -> HttpResponse:
    c = get_object_or_404(Cluster, name=cluster)
    pod = _live_pod(c, namespace, name)
    if not request.user.has_perm(roles.LOGS):
        return _forbidden(request, reverse("workloads:pod", args=[c.name, namespace, pod.name]))
    if not (allowed := access.may(c, "logs", kind="Pod", namespace=namespace, name=pod.name)):
        return _forbidden(request, reverse("workloads:pod", args=[c.name, namespace, pod.name]), allowed.reason)
    containers = reading.container_choices(pod.raw or {})
    form = PodLogForm(request.GET, containers=containers)
    lines: list[Line] = []
    problem = ""
    chosen = None
    if form.is_valid():
        chosen = form.chosen()
        if chosen is not None:
            query = kube.LogQuery(
                container=chosen.name,
                previous=form.cleaned_data["previous"],
                tail_lines=form.tail_lines(),
                since_seconds=form.since_seconds(),
                limit_bytes=READ_LIMIT_BYTES,
            )
            try:
                lines = reading.read_container(c, namespace, pod.name, query)
            except reading.LogUnavailable as exc:
                problem = str(exc)
            if request.GET.get("download") and not problem:
                suffix = "-previous" if query.previous else ""
                return _download(lines, f"{pod.name}-{chosen.name}{suffix}.log", form.cleaned_data["timestamps"])
    for line in lines:
        line.colour = pod_colour(pod.name)
    matches = highlight(lines, form.cleaned_data.get("q", "") if form.is_valid() else "")
    follow = bool(chosen and not form.errors and not form.cleaned_data.get("previous") and not pod.deleted_at)
    context = {
        "cluster": c,
        "pod": pod,
        "form": form,
        "containers": containers,
        "chosen": chosen,
        "lines": lines,
        "problem": problem,
        "matches": matches,
        "colour": pod_colour(pod.name),
        "pod_url": reverse("workloads:pod", args=[c.name, namespace, pod.name]),
        "follow_params": {"cluster": c.name, "namespace": namespace, "pod": pod.name, "container": chosen.name}
        if follow
        else None,
        "show_source": False,
    }
    return render(request, "workloads/logs/pod_logs.html", context)


@permission_required(roles.VIEW, raise_exception=True)
def workload_logs(request: HttpRequest, cluster: str, namespace: str, kind: str, name: str) -> HttpResponse:
    c = get_object_or_404(Cluster, name=cluster)
    kind_name = kinds.KIND_SLUGS.get(kind)
    if kind_name is None:
        raise Http404(_("Unknown kind %(k)s") % {"k": kind})
    w = Workload.objects.live().filter(cluster=c, namespace=namespace, kind=kind_name, name=name).first()
    if w is None or not access.may_see(c, namespace):
        raise Http404(_("Not found in the mirror"))
    w.cluster = c
    if not request.user.has_perm(roles.LOGS):
        return _forbidden(request, lookups.workload_url(w))
    if not (allowed := access.may(c, "logs", kind="Pod", namespace=namespace)):
        return _forbidden(request, lookups.workload_url(w), allowed.reason)
    revisions = lookups.revisions_of(w)
    everything = reading.workload_pods(w, revisions, "")
    form = WorkloadLogForm(request.GET, revisions=everything.revisions, containers=everything.containers)
    lines: list[Line] = []
    problems: list[str] = []
    chosen = None
    if form.is_valid():
        chosen = reading.workload_pods(w, revisions, form.cleaned_data["revision"])
        query = kube.LogQuery(
            tail_lines=form.tail_lines(), since_seconds=form.since_seconds(), limit_bytes=READ_LIMIT_BYTES // 8
        )
        result = reading.read_merged(
            c, chosen.pods, container=form.cleaned_data["container"], query=query, max_lines=reading_max(form)
        )
        lines, problems = result.lines, result.problems
        if request.GET.get("download"):
            return _download(lines, f"{w.kind.lower()}-{w.name}.log", form.cleaned_data["timestamps"], source=True)
    for p in chosen.pods if chosen else []:
        p.colour = pod_colour(p.name)
    for line in lines:
        line.colour = pod_colour(line.pod)
    matches = highlight(lines, form.cleaned_data.get("q", "") if form.is_valid() else "")
    context = {
        "cluster": c,
        "w": w,
        "form": form,
        "chosen": chosen,
        "lines": lines,
        "problems": problems,
        "matches": matches,
        "max_pods": reading.MAX_PODS,
        "workload_url": lookups.workload_url(w),
        "follow_params": {
            "cluster": c.name,
            "namespace": namespace,
            "kind": kind,
            "name": w.name,
            "revision": form.cleaned_data["revision"],
            "container": form.cleaned_data["container"],
        }
        if chosen is not None and chosen.pods
        else None,
        "show_source": True,
    }
    return render(request, "workloads/logs/workload_logs.html", context)


def reading_max(form: WorkloadLogForm) -> int:
    return min(form.tail_lines() * reading.MAX_PODS, 10_000)
