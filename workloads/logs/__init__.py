"""Container logs: read on demand from the cluster (never mirrored), for one Pod or every Pod of a workload,
and followed live through one shared upstream stream per (cluster, Pod, container)."""
