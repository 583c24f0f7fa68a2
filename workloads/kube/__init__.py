"""The cluster boundary: the only package that imports ``kubernetes``.

It hands back plain dicts parsed with orjson and raises Podium's own errors.
"""

from workloads.kinds import KINDS, Kind, access_rules, cluster_role_rules, kind_for
from workloads.kube.access import access_review, rules_review
from workloads.kube.client import ClusterConfig, api_client_for, config_for_cluster, server_version
from workloads.kube.discovery import served_kinds
from workloads.kube.errors import (
    Conflict,
    Expired,
    Forbidden,
    Invalid,
    KubeError,
    NoAnswer,
    NotFound,
    Unauthorized,
    Unreachable,
)
from workloads.kube.fetch import get_object, list_objects, list_pages
from workloads.kube.logs import LogFollower, LogQuery, follow_log, read_log
from workloads.kube.patch import JSON_PATCH, MERGE, STRATEGIC, create_object, delete_object, patch_object
from workloads.kube.quantity import parse_quantity
from workloads.kube.watch import watch_objects

__all__ = [
    "KINDS",
    "JSON_PATCH",
    "MERGE",
    "STRATEGIC",
    "ClusterConfig",
    "Conflict",
    "Expired",
    "Forbidden",
    "Invalid",
    "Kind",
    "LogFollower",
    "LogQuery",
    "KubeError",
    "NoAnswer",
    "NotFound",
    "Unauthorized",
    "Unreachable",
    "access_review",
    "access_rules",
    "rules_review",
    "cluster_role_rules",
    "api_client_for",
    "config_for_cluster",
    "create_object",
    "delete_object",
    "follow_log",
    "get_object",
    "kind_for",
    "list_objects",
    "list_pages",
    "parse_quantity",
    "patch_object",
    "read_log",
    "server_version",
    "served_kinds",
    "watch_objects",
]
