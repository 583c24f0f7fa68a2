"""What the tests share, other than fixtures (those are in the conftest.py files):

- stack.py: the one ``wait_for``, the one kubectl wrapper, the one democluster launcher (``Democluster``), a Celery
  worker and the ASGI server as real processes;
- clusters.py: democluster and the real control plane behind one interface (``TargetCluster``), a Cluster row for
  either, and ``started`` for a fixture that starts its own;
- manifests.py: Kubernetes objects several tests apply; factories.py: mirror rows built from realistic objects;
- democlusters.py, edit.py, i18n.py, impersonation.py, oidc.py, production.py, sockets.py, sync.py: the helpers of
  one kind of test each (several democlusters in one kubeconfig, the edit form, untranslated text, Podium acting as
  the person, an OpenID provider, a production environment, live sockets, the mirror check).
"""
