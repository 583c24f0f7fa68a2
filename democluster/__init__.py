"""democluster: a simulated Kubernetes API server with controllers and a kubelet.

It has no Django dependency and runs as its own process (``python -m democluster``).
"""
