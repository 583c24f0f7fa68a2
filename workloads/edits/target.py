"""The workload a change is for, as its URL names it, and the guard every changing view wears: editor role,
an enabled cluster, and a refused POST written to the audit trail. Shared by the edit, rollout and related views."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _

from workloads import clusters, kinds, roles
from workloads.browse import lookups
from workloads.edits import apply as edit_apply
from workloads.models import ChangeRecord, Cluster, Workload

Outcome = ChangeRecord.Outcome


def change_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """``permission_required(roles.CHANGE)``, and writes only to an enabled cluster; a refused POST is recorded in
    the audit trail."""

    @functools.wraps(view)
    def enabled_only(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        cluster = Cluster.objects.filter(name=kwargs.get("cluster", "")).first()
        if cluster is not None:
            clusters.check_enabled(cluster)
        return view(request, *args, **kwargs)

    guarded = permission_required(roles.CHANGE, raise_exception=True)(enabled_only)

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return guarded(request, *args, **kwargs)
        except edit_apply.AuditUnavailable:
            return render(request, "workloads/edit/audit_unavailable.html", status=503)
        except clusters.ClusterDisabled as exc:
            if request.method == "POST":
                edit_apply.record(
                    user=request.user,
                    cluster=exc.cluster,
                    action=view.__name__,
                    kind=kinds.KIND_SLUGS.get(kwargs.get("kind", ""), kwargs.get("kind", "")),
                    namespace=kwargs.get("namespace", ""),
                    name=kwargs.get("name", ""),
                    outcome=Outcome.REFUSED,
                    message=exc.message,
                )
            return render(request, "workloads/edit/disabled.html", {"cluster": exc.cluster}, status=409)
        except PermissionDenied:
            if request.method == "POST":
                edit_apply.record(
                    user=request.user,
                    cluster=Cluster.objects.filter(name=kwargs.get("cluster", "")).first(),
                    action=view.__name__,
                    kind=kinds.KIND_SLUGS.get(kwargs.get("kind", ""), kwargs.get("kind", "")),
                    namespace=kwargs.get("namespace", ""),
                    name=kwargs.get("name", ""),
                    outcome=Outcome.REFUSED,
                    message=_("%(user)s lacks the editor role.") % {"user": request.user.get_username()},
                )
            raise

    return wrapper


class Target:
    """The workload a URL names: its cluster, kind and mirror row (404 when unknown)."""

    def __init__(self, cluster: str, namespace: str, kind: str, name: str) -> None:
        self.cluster = get_object_or_404(Cluster, name=cluster)
        lookups.check_visible(self.cluster, namespace)
        self.kind = kinds.KIND_SLUGS.get(kind)
        if self.kind is None:
            raise Http404(_("Unknown kind %(k)s") % {"k": kind})
        self.row = (
            Workload.objects.filter(cluster=self.cluster, namespace=namespace, kind=self.kind, name=name)
            .order_by("deleted_at")
            .first()
        )
        if self.row is None or self.row.deleted_at is not None:
            raise Http404(_("No %(k)s %(ns)s/%(n)s") % {"k": self.kind, "ns": namespace, "n": name})
        self.namespace, self.name, self.slug = namespace, name, kind

    def args(self) -> list[str]:
        return [self.cluster.name, self.namespace, self.slug, self.name]

    def url(self, name: str) -> str:
        return reverse(f"workloads:{name}", args=self.args())

    def _identity(self, request: HttpRequest) -> dict[str, Any]:
        """Who changes what: the fields every audit row of this target carries."""
        return {
            "user": request.user,
            "cluster": self.cluster,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "workload_uid": self.row.uid,
        }

    def record(self, request: HttpRequest, action: str, outcome: str, **fields: Any) -> ChangeRecord:
        return edit_apply.record(action=action, outcome=outcome, **self._identity(request), **fields)

    def begin(self, request: HttpRequest, action: str, **fields: Any) -> ChangeRecord:
        """The row of a change about to be sent (see ``edit_apply.begin``)."""
        return edit_apply.begin(action=action, **self._identity(request), **fields)

    def context(self, **extra: Any) -> dict[str, Any]:
        return {
            "target": self,
            "workload_url": self.url("workload"),
            "edit_url": self.url("edit"),
            "yaml_edit_url": self.url("yaml_edit"),
            **extra,
        }


def warn_if_unrecorded(request: HttpRequest, recorded: bool) -> None:
    if not recorded:
        messages.warning(
            request,
            _("The audit trail could not record the outcome: its row says the outcome is unknown."),
        )
