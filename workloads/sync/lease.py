"""A lease in Redis, so that exactly one watcher per (cluster, kind) runs anywhere: redis-py's Lock, with the
watcher's name as its token (so `holder_of` can say who holds it)."""

from __future__ import annotations

import redis
from django.conf import settings
from redis.exceptions import LockError
from redis.lock import Lock

LEASE_SECONDS = 10


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3, socket_timeout=5)


def lease_key(cluster_id: int, kind: str) -> str:
    return f"podium:lease:{cluster_id}:{kind}"


class Lease:
    def __init__(self, client: redis.Redis, key: str, holder: str, seconds: int = LEASE_SECONDS) -> None:
        self.client, self.key, self.holder = client, key, holder
        # Not thread-local: a watcher may renew from another thread than the one that acquired.
        self.lock = Lock(client, key, timeout=seconds, blocking=False, thread_local=False)

    def acquire(self) -> bool:
        return self.lock.acquire(token=self.holder)

    def renew(self) -> bool:
        """False when the lease was lost (expired and taken by another holder); RedisError when Redis cannot say."""
        try:
            return self.lock.reacquire()
        except LockError:
            return False

    def release(self) -> None:
        try:
            self.lock.release()
        except redis.RedisError:
            pass  # not ours any more, never taken, or Redis is away: it expires on its own


def holder_of(client: redis.Redis, cluster_id: int, kind: str) -> str:
    value = client.get(lease_key(cluster_id, kind))
    return value.decode() if value else ""
