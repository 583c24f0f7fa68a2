from __future__ import annotations

from django.http import HttpRequest

from workloads import access, roles
from workloads.models import Cluster, Namespace


def navigation(request: HttpRequest) -> dict:
    """The cluster and namespace pickers in the header, preset from the page's URL (or the picker's query)."""
    # Cluster and namespace names are cluster data: a person without the viewer role (on the 403 page, say)
    # sees none of them.
    if not getattr(request, "user", None) or not request.user.has_perm(roles.VIEW):
        return {}
    match = getattr(request, "resolver_match", None)
    kwargs = match.kwargs if match else {}
    clusters = list(Cluster.objects.filter(enabled=True))
    wanted = kwargs.get("cluster") or request.GET.get("cluster", "")
    # Only a cluster that exists is "current": the header links to it, so it must reverse.
    current_cluster = wanted if any(c.name == wanted for c in clusters) else ""
    current_namespace = kwargs.get("namespace") or request.GET.get("namespace", "")
    namespaces: list[str] = []
    if current_cluster:
        namespaces = list(
            Namespace.objects.live()
            .filter(cluster__name=current_cluster)
            .order_by("name")
            .values_list("name", flat=True)
        )
        # Only those the signed-in person may see, when the cluster acts as them.
        shown = access.namespaces_shown(next(c for c in clusters if c.name == current_cluster))
        if shown is not None:
            namespaces = [n for n in namespaces if n in shown]
    return {
        "nav_clusters": clusters,
        "nav_cluster": current_cluster,
        "nav_namespaces": namespaces,
        "nav_namespace": current_namespace,
    }
