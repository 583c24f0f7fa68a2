"""Browsing the mirror: the overview, workload lists, a workload, a Pod, and what stands around them."""
