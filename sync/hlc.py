"""Hybrid logical clocks for ordering field edits made offline.

A stamp is ``"<wall ms, 13 digits>:<counter, 6 digits>:<node>"`` so stamps compare as
strings. Client clocks only order field edits; the server bounds their skew and never
uses them as a cursor.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

#: Stamps further ahead of the server's clock than this are pulled back to it.
MAX_SKEW_MS = 5 * 60 * 1000


def format_stamp(wall: int, counter: int, node: str) -> str:
    return f"{wall:013d}:{counter:06d}:{node}"


def parse_stamp(stamp: str) -> tuple[int, int, str]:
    wall, counter, node = stamp.split(":", 2)
    return int(wall), int(counter), node


@dataclass
class HLC:
    node: str
    wall: int = 0
    counter: int = 0
    clock: Callable[[], float] = field(default=time.time, repr=False)

    def now(self) -> str:
        """A stamp for a local event, later than every stamp seen so far."""
        physical = int(self.clock() * 1000)
        if physical > self.wall:
            self.wall, self.counter = physical, 0
        else:
            self.counter += 1
        return format_stamp(self.wall, self.counter, self.node)

    def observe(self, stamp: str) -> None:
        """Move past a stamp received from elsewhere."""
        wall, counter, _ = parse_stamp(stamp)
        physical = int(self.clock() * 1000)
        top = max(self.wall, wall, physical)
        if top == self.wall == wall:
            self.counter = max(self.counter, counter) + 1
        elif top == self.wall:
            self.counter += 1
        elif top == wall:
            self.counter = counter + 1
        else:
            self.counter = 0
        self.wall = top


def bounded(stamp: str, server_ms: int) -> str:
    """``stamp`` with its wall time capped at the server's clock plus the allowed skew."""
    try:
        wall, counter, node = parse_stamp(stamp)
    except ValueError:
        return format_stamp(0, 0, "invalid")
    if wall > server_ms + MAX_SKEW_MS:
        wall = server_ms + MAX_SKEW_MS
    return format_stamp(wall, counter, node)


def later_than(stamps: Iterable[str], wall_ms: int, node: str) -> str:
    """A stamp for an event at ``wall_ms`` that orders after every stamp in ``stamps``
    (the server stamping an online edit after the edits it has recorded)."""
    wall, counter = wall_ms, 0
    for stamp in stamps:
        try:
            w, c, _ = parse_stamp(stamp)
        except ValueError:
            continue
        if (w, c) >= (wall, counter):
            wall, counter = w, c + 1
    return format_stamp(wall, counter, node)
