"""Caches of computed results: a small thread-safe, size-bounded cache (least recently used out first),
and one registry of named caches per application on ``app.extensions``.

Every cache lives in the registry of the app that made it, so two apps in one process (tests, two
instances) never see each other's entries, and :func:`clear_all` forgets everything at once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from flask import Flask, current_app

REGISTRY = "coachlab.caches"


class BoundedCache:
    """Keeps at most ``size`` entries; ``get_or_make`` computes a missing entry outside the lock."""

    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable):
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        return None

    def put(self, key: Hashable, value) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def get_or_make(self, key: Hashable, make: Callable):
        value = self.get(key)
        if value is None:
            value = make()
            self.put(key, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def named(name: str, size: int) -> BoundedCache:
    """The current app's cache called ``name`` (made with room for ``size`` entries on first use)."""
    registry: dict[str, BoundedCache] = current_app.extensions.setdefault(REGISTRY, {})
    cache = registry.get(name)
    if cache is None:
        cache = registry.setdefault(name, BoundedCache(size))  # setdefault: two threads keep one cache
    return cache


def clear_all(app: Flask | None = None) -> None:
    """Forget every cached result of ``app`` (default: the current app), e.g. after restoring a backup."""
    app = app or current_app
    for cache in app.extensions.get(REGISTRY, {}).values():
        cache.clear()
