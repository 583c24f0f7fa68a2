"""Routes of the edit pages, rollout actions and the audit trail (added to workloads.urls)."""

from django.urls import path

from workloads.edits import views as views_edit

_OBJECT = "c/<slug:cluster>/ns/<str:namespace>/<str:kind>/<str:name>"

urlpatterns: list = [
    path(f"{_OBJECT}/edit/", views_edit.edit, name="edit"),
    path(f"{_OBJECT}/edit/apply/", views_edit.edit_apply_view, name="edit_apply"),
    path(f"{_OBJECT}/edit/recreate/", views_edit.job_recreate, name="job_recreate"),
    path(f"{_OBJECT}/yaml/edit/", views_edit.yaml_edit, name="yaml_edit"),
    path("c/<slug:cluster>/apply/", views_edit.apply_manifest, name="apply_manifest"),
    path("audit/", views_edit.audit, name="audit"),
]
