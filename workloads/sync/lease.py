"""A lease in Redis, so that exactly one watcher per (cluster, kind) runs anywhere."""

from __future__ import annotations

import redis
from django.conf import settings

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""

LEASE_SECONDS = 10


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3, socket_timeout=5)


def lease_key(cluster_id: int, kind: str) -> str:
    return f"podium:lease:{cluster_id}:{kind}"


class Lease:
    def __init__(self, client: redis.Redis, key: str, holder: str, seconds: int = LEASE_SECONDS) -> None:
        self.client, self.key, self.holder, self.ms = client, key, holder, seconds * 1000

    def acquire(self) -> bool:
        return bool(self.client.set(self.key, self.holder, nx=True, px=self.ms))

    def renew(self) -> bool:
        """False when the lease was lost (expired and taken by another holder)."""
        return bool(self.client.eval(_RENEW, 1, self.key, self.holder, self.ms))

    def release(self) -> None:
        try:
            self.client.eval(_RELEASE, 1, self.key, self.holder)
        except redis.RedisError:
            pass  # it expires on its own


def holder_of(client: redis.Redis, cluster_id: int, kind: str) -> str:
    value = client.get(lease_key(cluster_id, kind))
    return value.decode() if value else ""
