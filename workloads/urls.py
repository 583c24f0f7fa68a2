from django.urls import path

from workloads.browse import related as views_related
from workloads.browse import views as views_browse
from workloads.edits.urls import urlpatterns as edit_urlpatterns
from workloads.logs.urls import urlpatterns as logs_urlpatterns
from workloads.rollouts.urls import urlpatterns as rollout_urlpatterns

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

# Editing, rollout actions and logs have their own routes, beside their views.
urlpatterns += edit_urlpatterns + rollout_urlpatterns + logs_urlpatterns
