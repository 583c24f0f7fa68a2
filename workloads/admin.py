from django.contrib import admin

from workloads.models import ChangeRecord, Cluster, SyncState


class SyncStateInline(admin.TabularInline):
    model = SyncState
    extra = 0
    readonly_fields = ["kind", "status", "resource_version", "last_synced_at", "lease_holder", "last_error"]
    can_delete = False


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    list_display = ["name", "connection", "context", "enabled", "impersonate", "status", "last_sync_at"]
    list_filter = ["connection", "status", "enabled", "impersonate"]
    readonly_fields = ["status", "status_message", "server_version", "last_sync_at"]
    inlines = [SyncStateInline]


@admin.register(ChangeRecord)
class ChangeRecordAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "acted_as", "action", "kind", "namespace", "name", "outcome"]
    list_filter = ["outcome", "action", "kind"]
    readonly_fields = [f.name for f in ChangeRecord._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
