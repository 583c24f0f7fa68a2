from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from workloads import health as views_health
from workloads.oidc import views as oidc_views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", oidc_views.logout, name="logout"),
    path("oidc/authenticate/", oidc_views.start, name="oidc_authentication_init"),
    path("oidc/callback/", oidc_views.callback, name="oidc_authentication_callback"),
    # The header's language switcher (a CSRF-protected POST that sets the language cookie); the login page has it too.
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("healthz", views_health.healthz, name="healthz"),
    path("readyz", views_health.readyz, name="readyz"),
    path("admin/login/", login_not_required(auth_views.LoginView.as_view())),
    path("admin/", admin.site.urls),
    path("", include("workloads.urls")),
]
