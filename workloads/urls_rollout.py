"""Routes of the rollout panel, revision history and rollout actions (added to workloads.urls)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
