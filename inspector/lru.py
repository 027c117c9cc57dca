"""What a long-lived process (an audit worker) keeps between images: at most so much, least recently
used out first, safe to share between threads.

Every user keys it by something it has just checked (a sealed cache entry's SHA-256, a digest
record's checksum, the very bytes of a package database), never by a name an image claims.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BoundedLru(Generic[K, V]):
    """Values by key, their weights (nodes, bytes, or 1 each) summing to at most ``max_weight``."""

    def __init__(self, max_weight: int) -> None:
        self.max_weight = max_weight
        self.weight = 0
        self._kept: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, key: K) -> V | None:
        with self._lock:
            kept = self._kept.get(key)
            if kept is None:
                return None
            self._kept.move_to_end(key)
            return kept[0]

    def put(self, key: K, value: V, weight: int = 1) -> bool:
        """Keep ``value`` (replacing what ``key`` held); False when it alone weighs more than the bound."""
        if weight > self.max_weight:
            return False
        with self._lock:
            old = self._kept.pop(key, None)
            if old is not None:
                self.weight -= old[1]
            self._kept[key] = (value, weight)
            self.weight += weight
            while self.weight > self.max_weight:
                self.weight -= self._kept.popitem(last=False)[1][1]
        return True

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
            self.weight = 0
