from django.urls import path

from workloads.logs import views

urlpatterns = [
    path("c/<slug:cluster>/ns/<str:namespace>/pods/<str:name>/logs/", views.pod_logs, name="pod_logs"),
    path("c/<slug:cluster>/ns/<str:namespace>/<str:kind>/<str:name>/logs/", views.workload_logs, name="workload_logs"),
]
