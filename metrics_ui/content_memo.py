"""Work done on a response body, kept by the body's digest, so that an unchanged body costs one hash.

The console asks Embrace afresh on every page view, and an app's list rarely changes between two views:
decoding the same thousand rows again would give the same rows. Keyed by the SHA-256 of the bytes, a
value can never be handed out for a different body, so nothing stale is ever shown. Every request that
receives the same body shares the value, so values must be immutable. Per process, bounded, thread-safe.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable


class ContentMemo[T]:
    """The last ``size`` values of ``compute(body, digest)``, by the body's SHA-256."""

    def __init__(self, compute: Callable[[bytes, str], T], size: int) -> None:
        self._compute = compute
        self._size = size
        self._values: OrderedDict[str, T] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, body: bytes) -> T:
        digest = hashlib.sha256(body).hexdigest()
        with self._lock:
            if digest in self._values:
                self._values.move_to_end(digest)
                return self._values[digest]
        # Outside the lock: two threads given the same new body may both compute it, harmlessly.
        value = self._compute(body, digest)  # an exception is raised again for the next such body
        with self._lock:
            self._values[digest] = value
            while len(self._values) > self._size:
                self._values.popitem(last=False)
        return value
