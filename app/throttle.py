"""In-process rate limits: failed logins per address and per unknown account, share-link misses per address.

One process serves the site (waitress threads), so a dictionary under a lock is enough. Memory is
bounded: each key keeps at most `limit` timestamps, and past `max_keys` keys the least recently
used key is dropped (an attacker cycling through addresses can only make the limiter forget, never
make the process grow).
"""

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable


class Throttle:
    """At most `limit` events per key in any `window` seconds; past that the key waits (`retry_after`)."""

    def __init__(self, limit: int, window: float, lockout: float | None = None, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic):
        """lockout: once the limit is reached, refuse the key for this long (default: until the window frees)."""
        self.limit, self.window, self.lockout, self.max_keys = limit, window, lockout, max_keys
        self.clock = clock
        self._events: OrderedDict[str, deque] = OrderedDict()
        self._locked: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> float:
        """Seconds until the key may try again; 0 when it may now."""
        now = self.clock()
        with self._lock:
            until = self._locked.get(key)
            if until is not None:
                if until > now:
                    return until - now
                del self._locked[key]
            events = self._events.get(key)
            if events is None or len(events) < self.limit:
                return 0.0
            wait = events[0] + self.window - now
            return wait if wait > 0 else 0.0

    def hit(self, key: str) -> None:
        """Count one event (a failed login, an unknown share token) for the key."""
        now = self.clock()
        with self._lock:
            events = self._events.pop(key, None) or deque(maxlen=self.limit)
            while events and events[0] <= now - self.window:
                events.popleft()
            events.append(now)
            if self.lockout is not None and len(events) >= self.limit:
                # Locked from now on, counting afresh afterwards (as the account lock in the database).
                self._locked[key] = now + self.lockout
                self._locked.move_to_end(key)
                events = deque(maxlen=self.limit)
            self._events[key] = events
            while len(self._events) > self.max_keys:
                self._events.popitem(last=False)
            while len(self._locked) > self.max_keys:
                self._locked.popitem(last=False)

    def reset(self, key: str) -> None:
        """Forget the key (an account's failures after a successful login)."""
        with self._lock:
            self._events.pop(key, None)
            self._locked.pop(key, None)

    def __len__(self) -> int:
        """How many keys are remembered (for the memory bound's test)."""
        with self._lock:
            return len(self._events) + len(self._locked)
