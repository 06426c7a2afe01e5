"""A byte-bounded least-recently-used cache for encoded pictures."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable


class BytesCache:
    """Keep encoded pictures by key, dropping the least recently used above ``max_bytes``.

    Args:
        max_bytes: total size of the values kept.

    Safe to share between threads (a renderer and a flipbook encoder fill it at once).

    Examples:
        >>> cache = BytesCache(max_bytes=4)
        >>> cache.put("a", b"12"); cache.put("b", b"34"); cache.get("a")
        b'12'
        >>> cache.put("c", b"56"); sorted(cache.keys())
        ['a', 'c']
    """

    def __init__(self, max_bytes: int = 256 * 2**20):
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0; got {max_bytes}")
        self.max_bytes = int(max_bytes)
        self.size = 0
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> bytes | None:
        """The value of ``key`` (marked as recently used), or ``None``."""
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: bytes) -> None:
        """Store ``value`` under ``key``, evicting the oldest entries over the budget."""
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.size -= len(old)
            self._items[key] = value
            self.size += len(value)
            while self.size > self.max_bytes and len(self._items) > 1:
                _, dropped = self._items.popitem(last=False)
                self.size -= len(dropped)

    def keys(self):
        """Keys from least to most recently used (a copy)."""
        with self._lock:
            return list(self._items.keys())

    def clear(self) -> None:
        """Drop everything."""
        with self._lock:
            self._items.clear()
            self.size = 0

    def __len__(self) -> int:
        return len(self._items)
