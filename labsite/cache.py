"""The shared caches: Redis that keeps the site up when Redis is down, and a directory
shared by one machine's workers when there is no Redis."""

import logging
import os
import time

from diskcache import DjangoCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger("labsite.cache")

REDIS_FAULTS = (RedisConnectionError, RedisTimeoutError, OSError)


def _degrade(method_name, fallback):
    def method(self, *args, **kwargs):
        try:
            result = getattr(super(ResilientRedisCache, self), method_name)(*args, **kwargs)
        except REDIS_FAULTS as error:
            self._log_fault(method_name, error)
            return fallback(*args, **kwargs) if callable(fallback) else fallback
        self._fault_logged_at = None
        return result

    method.__name__ = method_name
    return method


class HeldClientRedisCacheClient(RedisCacheClient):
    """
    Django's Redis client, but with one redis-py client per server, made once. Django's
    makes a new one for every operation (the connections come from the same pool either
    way): 55 of the 93 microseconds of a cache read or write (minimums, a local Redis); a
    cached API lab detail 1.27 -> 1.00 ms, a cached lab page 1.03 -> 0.87 ms (minimums, in
    process). A redis-py client may be shared by threads.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class ResilientRedisCache(RedisCache):
    """
    Django's RedisCache, except that a Redis outage reads as a miss and a write as a no-op:
    pages are then built from the database (slower, still correct). Each outage is logged
    (at most once every LOG_EVERY seconds while it lasts).
    """

    LOG_EVERY = 30
    _fault_logged_at = None

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = HeldClientRedisCacheClient

    def _log_fault(self, operation, error):
        now = time.monotonic()
        if self._fault_logged_at is None or now - self._fault_logged_at > self.LOG_EVERY:
            self._fault_logged_at = now
            logger.error("cache unavailable (%s): %s: %s", operation, type(error).__name__, error)

    def check_health(self):
        """Store and read back a value, raising on a Redis fault (for /healthz)."""
        RedisCache.set(self, "healthz", "ok", 10)
        return RedisCache.get(self, "healthz")

    def get(self, key, default=None, version=None):
        try:
            result = super().get(key, default, version)
        except REDIS_FAULTS as error:
            self._log_fault("get", error)
            return default
        self._fault_logged_at = None
        return result

    add = _degrade("add", False)
    set = _degrade("set", None)
    touch = _degrade("touch", False)
    delete = _degrade("delete", False)
    get_many = _degrade("get_many", lambda *args, **kwargs: {})
    has_key = _degrade("has_key", False)
    set_many = _degrade("set_many", lambda data, *args, **kwargs: list(data))
    delete_many = _degrade("delete_many", None)
    clear = _degrade("clear", False)

    def count_request(self, key, seconds):
        """
        Add one to the counter ``key`` and keep it ``seconds``: the new count, read and
        written in one round trip (INCR and EXPIRE in a MULTI), so requests at once are all
        counted (the throttles, profiles/api/throttling.py). An outage counts nothing: 0.
        """
        key = self.make_and_validate_key(key)
        try:
            with self._cache.get_client(key, write=True).pipeline(transaction=True) as pipeline:
                value, _ = pipeline.incr(key).expire(key, seconds).execute()
        except REDIS_FAULTS as error:
            self._log_fault("count_request", error)
            return 0
        self._fault_logged_at = None
        return value

    def incr(self, key, delta=1, version=None):
        try:
            return super().incr(key, delta, version)
        except REDIS_FAULTS as error:
            self._log_fault("incr", error)
            raise ValueError(f"Key '{key}' not found (cache unavailable).") from error


class SharedDiskCache(DjangoCache):
    """
    diskcache's Django backend (SQLite databases, and a file for each large value, in one
    directory shared by gunicorn's workers), keeping each worker's connections open
    between requests. Django closes every cache when a request finishes, and diskcache's
    close() drops the connections that the next request must reopen and configure again:
    15% of an API request's time (bench/). diskcache itself reopens them in a forked child.

    A worker holding its connections would go on reading a deleted directory's files (an
    ``rm -rf var/cache`` while the site runs) and never see another worker's writes, so at
    the end of each request it checks that the directory is still the one it opened.
    """

    def __init__(self, directory, params):
        super().__init__(directory, params)
        self._location, self._params = directory, params
        self._opened = self._identity()

    def _identity(self):
        try:
            found = os.stat(self._location)
        except FileNotFoundError:
            return None
        return found.st_dev, found.st_ino

    def close(self, **kwargs):
        if self._identity() != self._opened:
            self._cache.close()
            DjangoCache.__init__(self, self._location, self._params)  # creates the directory again
            self._opened = self._identity()
