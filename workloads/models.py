"""The mirror of each cluster, and Podium's own records.

Every mirrored row keeps the full object as JSON (``raw``) beside the indexed columns pages query.
Rows are keyed by (cluster, uid); writes are guarded by resourceVersion order so a stale event
never overwrites a newer row. Objects deleted in the cluster get ``deleted_at`` and stay for
history until the retention period ends.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from workloads.objects import pod_template_of


class ClusterQuerySet(models.QuerySet):
    def impersonating(self) -> ClusterQuerySet:
        """Clusters that act as the signed-in person (``Cluster.impersonates``)."""
        on = models.Q(impersonate=True) | models.Q(impersonate__isnull=True) & ~models.Q(
            connection=Cluster.Connection.DEMOCLUSTER
        )
        return self.filter(on)


class Cluster(models.Model):
    class Connection(models.TextChoices):
        DEMOCLUSTER = "democluster", _("democluster (embedded)")
        KUBECONFIG = "kubeconfig", _("kubeconfig context")
        IN_CLUSTER = "in-cluster", _("in-cluster service account")

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        CONNECTED = "connected", _("connected")
        UNREACHABLE = "unreachable", _("unreachable")
        UNAUTHORIZED = "unauthorized", _("unauthorized")
        FORBIDDEN = "forbidden", _("forbidden")
        ERROR = "error", _("error")

    name = models.SlugField(max_length=63, unique=True)
    connection = models.CharField(max_length=20, choices=Connection.choices, default=Connection.DEMOCLUSTER)
    kubeconfig_path = models.CharField(
        max_length=500, blank=True, help_text=_("Empty: the KUBECONFIG environment variable or ~/.kube/config.")
    )
    context = models.CharField(max_length=253, blank=True, help_text=_("Empty: the kubeconfig's current context."))
    enabled = models.BooleanField(default=True)
    impersonate = models.BooleanField(
        null=True,
        blank=True,
        default=None,
        verbose_name=_("act as the signed-in person"),
        help_text=_(
            "Send every change, dry run and access check with Impersonate-User/-Group for the signed-in person, so "
            "the cluster's RBAC decides. Empty: on for kubeconfig and in-cluster clusters, off for the embedded "
            "democluster."
        ),
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    status_message = models.TextField(blank=True)
    server_version = models.CharField(max_length=64, blank=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    # How late the mirror shows what the cluster sends, when a watcher cannot keep up (0 when it can).
    mirror_lag_seconds = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ClusterQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        permissions = [
            ("view_cluster_data", "Can view workloads, Pods and events"),
            ("change_workloads", "Can change workloads (edit, scale, rollout actions)"),
            ("manage_clusters", "Can manage clusters and users"),
            ("view_logs", "Can read container logs"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def impersonates(self) -> bool:
        if self.impersonate is None:
            return self.connection != self.Connection.DEMOCLUSTER
        return self.impersonate


class MirroredQuerySet(models.QuerySet):
    """Mirrored rows: ``live()`` are those the cluster still has (a deleted object's row stays, for history)."""

    def live(self) -> MirroredQuerySet:
        return self.filter(deleted_at__isnull=True)


class MirroredObject(models.Model):
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE)
    uid = models.CharField(max_length=64)
    namespace = models.CharField(max_length=253, blank=True, db_index=True)
    name = models.CharField(max_length=253)
    resource_version = models.BigIntegerField(default=0)
    labels = models.JSONField(default=dict)
    created_at = models.DateTimeField(null=True)
    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    raw = models.JSONField(default=dict)

    objects = MirroredQuerySet.as_manager()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


class Namespace(MirroredObject):
    phase = models.CharField(max_length=20, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cluster", "uid"], name="namespace_uid")]
        indexes = [models.Index(fields=["cluster", "name"])]


class Node(MirroredObject):
    ready = models.BooleanField(default=False)
    kubelet_version = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cluster", "uid"], name="node_uid")]


class Workload(MirroredObject):
    class Kind(models.TextChoices):
        DEPLOYMENT = "Deployment"
        STATEFULSET = "StatefulSet"
        DAEMONSET = "DaemonSet"
        JOB = "Job"
        CRONJOB = "CronJob"
        REPLICASET = "ReplicaSet"

    class Health(models.TextChoices):
        HEALTHY = "healthy", _("healthy")
        PROGRESSING = "progressing", _("progressing")
        DEGRADED = "degraded", _("degraded")
        FAILED = "failed", _("failed")
        PAUSED = "paused", _("paused")
        COMPLETED = "completed", _("completed")
        SUSPENDED = "suspended", _("suspended")

    kind = models.CharField(max_length=20, choices=Kind.choices)
    owner_uid = models.CharField(max_length=64, blank=True, db_index=True)
    generation = models.BigIntegerField(default=0)
    observed_generation = models.BigIntegerField(default=0)
    desired_replicas = models.IntegerField(default=0)
    ready_replicas = models.IntegerField(default=0)
    updated_replicas = models.IntegerField(default=0)
    available_replicas = models.IntegerField(default=0)
    current_revision = models.CharField(max_length=253, blank=True)
    images = models.TextField(blank=True)
    health = models.CharField(max_length=20, choices=Health.choices, default=Health.HEALTHY)
    health_reason = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cluster", "uid"], name="workload_uid")]
        indexes = [
            models.Index(fields=["cluster", "namespace", "kind", "name"]),
            models.Index(fields=["cluster", "kind", "name"]),
            models.Index(fields=["cluster", "namespace", "owner_uid"]),
        ]

    @property
    def pod_template(self) -> dict:
        return pod_template_of(self.kind, self.raw)

    def pods(self) -> MirroredQuerySet:
        """Its live Pods. The sync resolves every Pod's top workload; a workload that has an owner itself (a
        ReplicaSet of a Deployment, a Job of a CronJob) has the Pods it made directly. One indexed column, never an
        OR of two (SQLite would scan every Pod of the cluster for it)."""
        own = models.Q(owner_uid=self.uid) if self.owner_uid else models.Q(workload_uid=self.uid)
        return Pod.objects.live().filter(own, cluster_id=self.cluster_id)

    def revisions(self) -> MirroredQuerySet:
        """Its live template revisions (ReplicaSets, ControllerRevisions, a CronJob's Jobs), newest first."""
        return (
            TemplateRevision.objects.live()
            .filter(cluster_id=self.cluster_id, workload_uid=self.uid)
            .order_by("-revision", "-created_at")
        )


class TemplateRevision(MirroredObject):
    """One ReplicaSet (Deployments) or ControllerRevision (StatefulSets, DaemonSets), or one Job (CronJobs)."""

    source_kind = models.CharField(max_length=30)
    workload_uid = models.CharField(max_length=64, db_index=True)
    revision = models.BigIntegerField(default=0)
    template_hash = models.CharField(max_length=253, db_index=True)
    template = models.JSONField(default=dict)
    replicas = models.IntegerField(default=0)
    ready_replicas = models.IntegerField(default=0)
    change_cause = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cluster", "uid"], name="templaterevision_uid")]
        indexes = [models.Index(fields=["cluster", "workload_uid", "revision"])]


class Pod(MirroredObject):
    owner_kind = models.CharField(max_length=30, blank=True)
    owner_name = models.CharField(max_length=253, blank=True)
    owner_uid = models.CharField(max_length=64, blank=True, db_index=True)
    workload_uid = models.CharField(max_length=64, blank=True, db_index=True)
    template_hash = models.CharField(max_length=253, blank=True)
    phase = models.CharField(max_length=20, blank=True)
    status_text = models.CharField(max_length=64, blank=True)
    ready = models.BooleanField(default=False)
    ready_containers = models.IntegerField(default=0)
    total_containers = models.IntegerField(default=0)
    restarts = models.IntegerField(default=0)
    node_name = models.CharField(max_length=253, blank=True)
    pod_ip = models.CharField(max_length=64, blank=True)
    # metadata.deletionTimestamp is set: the Pod is shutting down (not yet gone, which is ``deleted_at``).
    terminating = models.BooleanField(default=False)

    # Controllers that make a new Pod when one of theirs is deleted.
    REPLACING_CONTROLLERS = ("ReplicaSet", "StatefulSet", "DaemonSet", "Job", "ReplicationController")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cluster", "uid"], name="pod_uid")]
        indexes = [
            models.Index(fields=["cluster", "namespace", "name"]),
            # Covering the rollout points' count of ready Pods per template and the owner linking after each
            # batch: read from the index alone, not from rows that carry the whole object.
            models.Index(fields=["cluster", "workload_uid", "template_hash", "ready", "deleted_at"]),
            models.Index(fields=["cluster", "owner_uid", "workload_uid"]),
            # The lists of live Pods: their count is a range of this index (at 150k Pods it was a walk of the
            # deleted_at index, looking each row up for its cluster), and a namespace's list or the cluster's
            # sorted by name reads its page in the index's order. Other sorts still sort the cluster's rows.
            models.Index(fields=["cluster", "deleted_at", "namespace", "name"], name="pod_cluster_live"),
        ]

    @property
    def replaced_on_delete(self) -> bool:
        """Whether deleting this Pod makes its controller create another. ``owner_kind`` is the controller's
        (an ownerReference without ``controller: true`` replaces nothing), and a finished Job runs no more Pods."""
        if self.owner_kind == "Job" and self.phase in ("Succeeded", "Failed"):
            return False
        return self.owner_kind in self.REPLACING_CONTROLLERS


class Event(MirroredObject):
    involved_kind = models.CharField(max_length=30, blank=True)
    involved_name = models.CharField(max_length=253, blank=True)
    involved_uid = models.CharField(max_length=64, blank=True, db_index=True)
    reason = models.CharField(max_length=128, blank=True)
    message = models.TextField(blank=True)
    type = models.CharField(max_length=20, blank=True)
    count = models.IntegerField(default=1)
    first_seen = models.DateTimeField(null=True)
    last_seen = models.DateTimeField(null=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cluster", "uid"], name="event_uid")]
        indexes = [models.Index(fields=["cluster", "involved_uid", "last_seen"])]


class RelatedObject(MirroredObject):
    """An object around the workloads: a Service, EndpointSlice, ConfigMap, Secret, PersistentVolumeClaim,
    HorizontalPodAutoscaler or PodDisruptionBudget. ``raw`` never holds values: a ConfigMap's are dropped (its key
    names stay in ``keys``), and a Secret is mirrored from a metadata-only list and watch."""

    class Kind(models.TextChoices):
        SERVICE = "Service"
        ENDPOINTSLICE = "EndpointSlice"
        CONFIGMAP = "ConfigMap"
        SECRET = "Secret"
        PERSISTENTVOLUMECLAIM = "PersistentVolumeClaim"
        HORIZONTALPODAUTOSCALER = "HorizontalPodAutoscaler"
        PODDISRUPTIONBUDGET = "PodDisruptionBudget"

    kind = models.CharField(max_length=30, choices=Kind.choices)
    # A Service's spec.selector (a label map) or a PodDisruptionBudget's spec.selector (a LabelSelector).
    selector = models.JSONField(null=True, blank=True)
    # A ConfigMap's key names (data and binaryData); empty for a Secret (its metadata does not name them).
    keys = models.JSONField(default=list)
    # What it points at: an HPA's scaleTargetRef, an EndpointSlice's Service.
    target_kind = models.CharField(max_length=30, blank=True)
    target_name = models.CharField(max_length=253, blank=True)
    # A PersistentVolumeClaim's phase.
    phase = models.CharField(max_length=20, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cluster", "uid"], name="relatedobject_uid")]
        indexes = [
            models.Index(fields=["cluster", "namespace", "kind", "name"]),
            models.Index(fields=["cluster", "namespace", "kind", "target_name"]),
        ]


class SyncState(models.Model):
    """Where one (cluster, kind) watcher is: its resourceVersion, lease and health."""

    class Status(models.TextChoices):
        IDLE = "idle", _("idle")
        LISTING = "listing", _("listing")
        WATCHING = "watching", _("watching")
        UNREACHABLE = "unreachable", _("unreachable")
        UNAUTHORIZED = "unauthorized", _("unauthorized")
        FORBIDDEN = "forbidden", _("forbidden")
        ERROR = "error", _("error")

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="sync_states")
    kind = models.CharField(max_length=40)
    resource_version = models.CharField(max_length=64, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    lease_holder = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.IDLE)
    last_error = models.TextField(blank=True)
    # Seconds from an event reaching the watcher to it being in the mirror, once it passes PODIUM_LAG_SHOWN_SECONDS.
    lag_seconds = models.FloatField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cluster", "kind"], name="syncstate_cluster_kind")]

    def __str__(self) -> str:
        return f"{self.cluster_id}/{self.kind}: {self.status}"


class ChangeRecord(models.Model):
    """The audit trail: every change attempted through Podium, and what the cluster answered."""

    class Outcome(models.TextChoices):
        APPLIED = "applied", _("applied")
        PREVIEWED = "previewed", _("previewed")
        CONFLICT = "conflict", _("conflict")
        INVALID = "invalid", _("invalid")
        REFUSED = "refused", _("refused")
        FAILED = "failed", _("failed")
        # Written before a change is sent; it stays so only when the answer could not be recorded.
        UNKNOWN = "unknown", _("outcome unknown")

    cluster = models.ForeignKey(Cluster, on_delete=models.SET_NULL, null=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=40)
    kind = models.CharField(max_length=30)
    namespace = models.CharField(max_length=253, blank=True)
    name = models.CharField(max_length=253)
    workload_uid = models.CharField(max_length=64, blank=True, db_index=True)
    patch = models.JSONField(default=dict)
    diff = models.TextField(blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    message = models.TextField(blank=True)
    revision = models.CharField(max_length=64, blank=True)
    # Who the cluster was told acted ("alice (groups: dev)"); empty when Podium acted as itself.
    acted_as = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.action} {self.kind} {self.namespace}/{self.name}: {self.outcome}"


class RolloutSample(models.Model):
    """One point of a workload's rollout timeline: replicas on the current template and in all,
    recorded by the sync layer whenever they change, so the chart survives a reload."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE)
    workload_uid = models.CharField(max_length=64)
    at = models.DateTimeField()
    revision = models.CharField(max_length=253, blank=True)
    desired = models.IntegerField(default=0)
    updated = models.IntegerField(default=0)
    ready = models.IntegerField(default=0)
    available = models.IntegerField(default=0)
    new_ready = models.IntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["cluster", "workload_uid", "at"])]

    def __str__(self) -> str:
        return f"{self.workload_uid}@{self.at}: {self.new_ready}/{self.ready}/{self.desired}"

    @property
    def old_ready(self) -> int:
        return max(0, self.ready - self.new_ready)


class OIDCIdentity(models.Model):
    """A person who signs in with OpenID Connect: the provider's (issuer, subject) pair, which never changes, and
    the groups its claim gave at the last sign-in or token refresh (the Django groups are synced from them)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_identity")
    issuer = models.CharField(max_length=500)
    subject = models.CharField(max_length=255)
    groups = models.JSONField(default=list)
    last_sign_in = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="oidcidentity_issuer_subject")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.subject} at {self.issuer}"
