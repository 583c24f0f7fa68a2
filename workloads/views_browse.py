"""Browsing: the overview, workload lists, workload and Pod pages. Reads come from the mirror only."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from workloads import roles
from workloads.models import Cluster


@permission_required(roles.VIEW, raise_exception=True)
def overview(request: HttpRequest) -> HttpResponse:
    clusters = Cluster.objects.filter(enabled=True)
    return render(request, "workloads/overview.html", {"clusters": clusters})
