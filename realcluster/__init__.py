"""The real Kubernetes control plane for tests and benchmarks (see cluster.py and README.md)."""
