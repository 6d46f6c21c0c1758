"""Reads from the replicas, writes to the primary; a client that just wrote reads the primary."""

import contextvars
import random

from django.conf import settings
from django.db import connections

# Set by labsite.middleware.PrimaryPinningMiddleware for the current request (or by code
# that must read its own writes: ``with pinned_to_primary(): ...``).
_pinned = contextvars.ContextVar("labsite_pinned_to_primary", default=False)
# Whether that is because the client itself wrote a moment ago (PrimaryPinningMiddleware):
# such a client must not be given anything shared that was computed before its write.
_client_pinned = contextvars.ContextVar("labsite_client_pinned", default=False)


def is_pinned():
    return _pinned.get()


def is_client_pinned():
    """Whether the current client wrote within REPLICA_PIN_SECONDS (not just code reading the primary)."""
    return _client_pinned.get()


class pinned_to_primary:
    """Context manager: reads inside go to the primary."""

    def __enter__(self):
        self._token = _pinned.set(True)

    def __exit__(self, *exc):
        _pinned.reset(self._token)


def pin(value=True):
    """Pin (or unpin) the current client's context; returns a token for ``unpin``."""
    return _pinned.set(value), _client_pinned.set(value)


def unpin(token):
    pinned, client_pinned = token
    _pinned.reset(pinned)
    _client_pinned.reset(client_pinned)


class PrimaryReplicaRouter:
    """
    Reads go to a random replica (settings.DATABASE_REPLICAS), unless the current request
    is pinned to the primary; writes, and everything inside a transaction on the primary,
    go to "default". Replicas hold the primary's data, so relations across them are fine;
    migrations run on the primary only (replication carries the schema).
    """

    def _replicas(self):
        return getattr(settings, "DATABASE_REPLICAS", [])

    def db_for_read(self, model, **hints):
        replicas = self._replicas()
        if not replicas or is_pinned() or connections["default"].in_atomic_block:
            return "default"
        instance = hints.get("instance")
        if instance is not None and instance._state.db:
            return instance._state.db
        return random.choice(replicas)

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        databases = {"default", *self._replicas()}
        if obj1._state.db in databases and obj2._state.db in databases:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db not in self._replicas()
