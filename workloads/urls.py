from django.urls import path

from workloads import views_browse

app_name = "workloads"

urlpatterns = [
    path("", views_browse.overview, name="overview"),
]
