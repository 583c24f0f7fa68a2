"""Routes of the rollout panel, revision history and rollout actions (added to workloads.urls)."""

from django.urls import path

from workloads.rollouts import views as views_rollout

_OBJECT = "c/<slug:cluster>/ns/<str:namespace>/<str:kind>/<str:name>"

urlpatterns: list = [
    path(f"{_OBJECT}/rollout/", views_rollout.panel, name="rollout"),
    path(f"{_OBJECT}/revisions/", views_rollout.revisions, name="revisions"),
    path(f"{_OBJECT}/actions/scale/", views_rollout.scale, name="rollout_scale"),
    path(f"{_OBJECT}/actions/pause/", views_rollout.pause, name="rollout_pause"),
    path(f"{_OBJECT}/actions/resume/", views_rollout.resume, name="rollout_resume"),
    path(f"{_OBJECT}/actions/restart/", views_rollout.restart, name="rollout_restart"),
    path(f"{_OBJECT}/actions/undo/", views_rollout.undo, name="rollout_undo"),
    path("c/<slug:cluster>/ns/<str:namespace>/pods/<str:name>/delete/", views_rollout.pod_delete, name="pod_delete"),
]
