"""democluster's HTTP API, split as a request travels: ``dispatch`` (routing, authentication, impersonation,
RBAC, audit, reviews, discovery), ``reads`` (list, get, watch), ``writes`` (create, replace, patch, delete);
``protocol`` holds what all three share (query parsing, media types, bodies, responses)."""

from democluster.server.dispatch import ApiServer, start_server

__all__ = ["ApiServer", "start_server"]
