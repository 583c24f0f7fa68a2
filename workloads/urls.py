from django.urls import path

from workloads import views_browse, views_related

app_name = "workloads"

urlpatterns = [
    path("", views_browse.overview, name="overview"),
    path("c/<slug:cluster>/workloads/", views_browse.cluster_workloads, name="cluster_workloads"),
    path("c/<slug:cluster>/ns/<str:namespace>/", views_browse.namespace_detail, name="namespace"),
    path("c/<slug:cluster>/ns/<str:namespace>/pods/<str:name>/", views_browse.pod_detail, name="pod"),
    # Before the workload pages: their <kind> would take these words too.
    path("c/<slug:cluster>/ns/<str:namespace>/configmap/<str:name>/", views_related.configmap_detail, name="configmap"),
    path(
        "c/<slug:cluster>/ns/<str:namespace>/configmap/<str:name>/restart/",
        views_related.configmap_restart,
        name="configmap_restart",
    ),
    path("c/<slug:cluster>/ns/<str:namespace>/secret/<str:name>/", views_related.secret_detail, name="secret"),
    path(
        "c/<slug:cluster>/ns/<str:namespace>/secret/<str:name>/restart/",
        views_related.secret_restart,
        name="secret_restart",
    ),
    path("c/<slug:cluster>/ns/<str:namespace>/service/<str:name>/", views_related.service_detail, name="service"),
    path("c/<slug:cluster>/ns/<str:namespace>/<str:kind>/<str:name>/yaml/", views_browse.object_yaml, name="yaml"),
    path("c/<slug:cluster>/ns/<str:namespace>/<str:kind>/<str:name>/", views_browse.workload_detail, name="workload"),
]

# Editing and rollout actions live in their own modules (their own helpers own them).
from workloads.urls_edit import urlpatterns as edit_urlpatterns  # noqa: E402

urlpatterns += edit_urlpatterns

from workloads.urls_rollout import urlpatterns as rollout_urlpatterns  # noqa: E402

urlpatterns += rollout_urlpatterns

from workloads.logs.urls import urlpatterns as logs_urlpatterns  # noqa: E402

urlpatterns += logs_urlpatterns
