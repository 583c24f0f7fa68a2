"""The three roles: viewer reads, editor also changes workloads, admin also manages clusters."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from workloads import roles


@pytest.mark.django_db
def test_it_creates_three_role_groups_with_their_permissions(viewer: User, editor: User, admin_user: User) -> None:
    assert viewer.has_perm(roles.VIEW)
    assert not viewer.has_perm(roles.CHANGE)
    assert editor.has_perm(roles.VIEW) and editor.has_perm(roles.CHANGE)
    assert not editor.has_perm(roles.MANAGE)
    assert admin_user.has_perm(roles.MANAGE) and admin_user.has_perm("workloads.add_cluster")
    assert admin_user.has_perm("auth.change_user")


@pytest.mark.django_db
def test_it_forbids_a_user_without_a_role(outsider_client: Client) -> None:
    response = outsider_client.get("/")
    assert response.status_code == 403


@pytest.mark.django_db
def test_it_shows_the_dashboard_to_a_viewer(viewer_client: Client) -> None:
    response = viewer_client.get("/")
    assert response.status_code == 200
    assert b"Overview" in response.content


@pytest.mark.django_db
def test_it_keeps_the_admin_for_admins(viewer_client: Client, admin_user: User) -> None:
    assert viewer_client.get("/admin/").status_code == 302  # not staff: Django admin sends to its login
    admin_user.is_staff = True
    admin_user.save()
    admin = Client()
    admin.force_login(admin_user)
    assert admin.get("/admin/workloads/cluster/").status_code == 200
