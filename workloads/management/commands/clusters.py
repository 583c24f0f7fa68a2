"""`python manage.py clusters import|list`: register clusters from kubeconfig contexts, or the one Podium runs in.

    clusters import                          the current context of $KUBECONFIG (or ~/.kube/config)
    clusters import --all                    every context
    clusters import --context prod [--name p] one context (repeatable), optionally under another name
    clusters import --kubeconfig PATH ...    another kubeconfig; PATH may list several files like KUBECONFIG
    clusters import --in-cluster             the cluster this Pod runs in, through its service account
    clusters list
    clusters impersonate NAME on|off|default  act as the signed-in person on NAME (default: on unless democluster)

Importing is idempotent: a context imported again updates its Cluster (path and context), never its
`enabled` flag or sync state. Credentials stay in the kubeconfig; the Cluster keeps only where to find
them, so server, CA, client certificates, tokens and exec plugins work exactly as in kubectl.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from django.core.management.base import BaseCommand, CommandError, CommandParser

from workloads.models import Cluster

IN_CLUSTER_NAME = "in-cluster"
# Where Kubernetes mounts a Pod's service account credentials.
SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


def cluster_name_for(context: str) -> str:
    """A Cluster name (a slug of at most 63 characters) from a context name such as
    ``arn:aws:eks:eu-west-1:123:cluster/prod`` or ``gke_project_zone_name``."""
    name = re.sub(r"[^a-z0-9_-]+", "-", context.lower()).strip("-_")[:63].strip("-_")
    return name or "cluster"


def kubeconfig_paths(kubeconfig: str | None) -> list[Path]:
    """The files a kubeconfig setting names: like KUBECONFIG, several joined with the path separator."""
    value = kubeconfig or os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
    return [Path(p).expanduser().absolute() for p in value.split(os.pathsep) if p]


def read_contexts(paths: list[Path]) -> tuple[list[str], str]:
    """Context names and the current context, merged as kubectl merges KUBECONFIG: the first file
    that defines a context or sets current-context wins. Files that do not exist are skipped, as kubectl
    does, but at least one must exist."""
    contexts: list[str] = []
    current = ""
    found = False
    for path in paths:
        if not path.is_file():
            continue
        found = True
        try:
            config: Any = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise CommandError(f"cannot read the kubeconfig {path}: {exc}") from exc
        if not isinstance(config, dict):
            raise CommandError(f"{path} is not a kubeconfig (expected a mapping with 'contexts')")
        for entry in config.get("contexts") or []:
            name = entry.get("name") if isinstance(entry, dict) else None
            if name and name not in contexts:
                contexts.append(name)
        if not current and config.get("current-context"):
            current = str(config["current-context"])
    if not found:
        raise CommandError(f"no kubeconfig file found at {os.pathsep.join(str(p) for p in paths)}")
    return contexts, current


class Command(BaseCommand):
    help = "Register clusters from kubeconfig contexts (or the in-cluster service account), or list them."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        importer = sub.add_parser("import", help="create or update a Cluster per kubeconfig context")
        importer.add_argument(
            "--kubeconfig",
            help="kubeconfig file(s), joined with ':' like KUBECONFIG (default: $KUBECONFIG or ~/.kube/config)",
        )
        which = importer.add_mutually_exclusive_group()
        which.add_argument(
            "--context", action="append", dest="contexts", metavar="NAME", help="this context (repeatable)"
        )
        which.add_argument("--all", action="store_true", help="every context in the kubeconfig")
        which.add_argument(
            "--in-cluster", action="store_true", help="the cluster this Pod runs in, through its service account"
        )
        importer.add_argument("--name", help="the Cluster's name, when importing one context (default: from it)")
        sub.add_parser("list", help="the registered clusters and their status")
        impersonate = sub.add_parser(
            "impersonate", help="send changes and access checks as the signed-in person (Impersonate-User/-Group)"
        )
        impersonate.add_argument("name", help="the Cluster's name")
        impersonate.add_argument("setting", choices=["on", "off", "default"])

    def handle(self, *args: object, action: str, **options: Any) -> None:
        if action == "list":
            self.list_clusters()
        elif action == "impersonate":
            self.set_impersonation(options["name"], options["setting"])
        elif options["in_cluster"]:
            if options["kubeconfig"]:
                raise CommandError("--in-cluster uses the Pod's service account, not a kubeconfig")
            self.import_in_cluster(options["name"] or IN_CLUSTER_NAME)
        else:
            self.import_kubeconfig(options["kubeconfig"], options["contexts"] or [], options["all"], options["name"])

    def import_kubeconfig(self, kubeconfig: str | None, chosen: list[str], every: bool, name: str | None) -> None:
        paths = kubeconfig_paths(kubeconfig)
        available, current = read_contexts(paths)
        if not available:
            raise CommandError(f"the kubeconfig {os.pathsep.join(map(str, paths))} has no contexts")
        if every:
            contexts = available
        elif chosen:
            missing = [c for c in chosen if c not in available]
            if missing:
                raise CommandError(
                    f"no context named {', '.join(map(repr, missing))} in the kubeconfig; "
                    f"it has: {', '.join(available)}"
                )
            contexts = list(dict.fromkeys(chosen))
        elif current:
            if current not in available:
                raise CommandError(f"the current context {current!r} is not defined in the kubeconfig")
            contexts = [current]
        else:
            raise CommandError(
                f"the kubeconfig sets no current-context; choose --context NAME or --all from: {', '.join(available)}"
            )
        if name and len(contexts) > 1:
            raise CommandError("--name names one Cluster; import one context at a time with it")
        # Absolute paths: the worker that syncs may run from another directory or without KUBECONFIG.
        stored_path = os.pathsep.join(str(p) for p in paths)
        for context in contexts:
            self.save(
                name or cluster_name_for(context),
                connection=Cluster.Connection.KUBECONFIG,
                kubeconfig_path=stored_path,
                context=context,
            )

    def import_in_cluster(self, name: str) -> None:
        if not os.environ.get("KUBERNETES_SERVICE_HOST") or not os.environ.get("KUBERNETES_SERVICE_PORT"):
            raise CommandError(
                "not running in a Kubernetes Pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set"
            )
        if not (SERVICE_ACCOUNT_DIR / "token").is_file():
            raise CommandError(
                f"no service account token at {SERVICE_ACCOUNT_DIR / 'token'}: "
                "is automountServiceAccountToken off for this Pod?"
            )
        self.save(name, connection=Cluster.Connection.IN_CLUSTER, kubeconfig_path="", context="")

    def save(self, name: str, *, connection: str, kubeconfig_path: str, context: str) -> None:
        existing = Cluster.objects.filter(name=name).first()
        if existing is not None and existing.connection != connection:
            # Never turn the embedded democluster (or another kind of cluster) into this one by accident.
            raise CommandError(
                f"a cluster named {name!r} already exists with connection {existing.connection!r}; "
                "choose another name with --name"
            )
        fields = {"connection": connection, "kubeconfig_path": kubeconfig_path, "context": context}
        if existing is None:
            Cluster.objects.create(name=name, **fields)
            self.stdout.write(f"created cluster {name} ({self.describe(connection, context)})")
        elif any(getattr(existing, k) != v for k, v in fields.items()):
            Cluster.objects.filter(pk=existing.pk).update(**fields)
            self.stdout.write(f"updated cluster {name} ({self.describe(connection, context)})")
        else:
            self.stdout.write(f"cluster {name} is up to date ({self.describe(connection, context)})")

    def set_impersonation(self, name: str, setting: str) -> None:
        cluster = Cluster.objects.filter(name=name).first()
        if cluster is None:
            raise CommandError(f"no cluster named {name!r}; `clusters list` shows them")
        cluster.impersonate = {"on": True, "off": False, "default": None}[setting]
        cluster.save(update_fields=["impersonate"])
        state = "acts as the signed-in person" if cluster.impersonates else "acts as Podium itself"
        self.stdout.write(f"cluster {name} now {state}")

    @staticmethod
    def describe(connection: str, context: str) -> str:
        return f"context {context}" if connection == Cluster.Connection.KUBECONFIG else connection

    def list_clusters(self) -> None:
        clusters = list(Cluster.objects.all())
        if not clusters:
            self.stdout.write("no clusters; add one with: python manage.py clusters import")
            return
        rows = [("NAME", "CONNECTION", "CONTEXT", "ENABLED", "STATUS", "LAST SYNC")]
        for c in clusters:
            last_sync = c.last_sync_at.strftime("%Y-%m-%d %H:%M:%S") if c.last_sync_at else "-"
            rows.append((c.name, c.connection, c.context or "-", "yes" if c.enabled else "no", c.status, last_sync))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        for c in clusters:
            if c.status_message:
                self.stdout.write(f"{c.name}: {c.status_message}")
