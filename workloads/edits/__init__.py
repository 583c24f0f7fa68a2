"""Editing workloads: forms bound to the object as read, patches, dry-run previews, safe apply, the audit trail."""
