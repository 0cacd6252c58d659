"""A loopback TCP proxy that misbehaves on purpose, for sync fault tests.

Each new connection draws one fault:

- ``pass``: relay both ways;
- ``drop_before``: close as soon as the request starts, forwarding nothing;
- ``drop_after``: forward the request, then close when the answer starts (the server
  acted, the client never hears);
- ``drop_mid``: relay part of the answer, then close;
- ``delay``: wait, then relay.

With ``cut_every`` set, any connection is also cut once the client has sent about that
many bytes through it (between half and one and a half times): a link that drops every
megabyte or so, in the middle of a long upload.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from dataclasses import dataclass, field

FAULTS = ("pass", "drop_before", "drop_after", "drop_mid", "delay")


@dataclass
class FaultProxy:
    upstream_port: int
    weights: dict[str, float] = field(default_factory=lambda: {"pass": 1.0})
    seed: int = 0
    delay: float = 0.2
    port: int = 0
    seen: Counter[str] = field(default_factory=Counter)
    cut_every: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FaultProxy:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    def set_faults(self, **weights: float) -> None:
        self.weights = weights or {"pass": 1.0}

    def _draw(self) -> str:
        names = list(self.weights)
        return self.rng.choices(names, weights=[self.weights[n] for n in names])[0]

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        fault = self._draw()
        self.seen[fault] += 1
        try:
            if fault == "drop_before":
                await client_r.read(1)
                return
            if fault == "delay":
                await asyncio.sleep(self.delay)
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
            try:
                budget = int(self.cut_every * self.rng.uniform(0.5, 1.5)) if self.cut_every else None
                await asyncio.gather(self._pump(client_r, up_w, None, budget), self._pump(up_r, client_w, fault))
            finally:
                up_w.close()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            client_w.close()
            with contextlib.suppress(ConnectionError):
                await client_w.wait_closed()

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, fault: str | None, budget: int | None = None
    ) -> None:
        sent = 0
        try:
            while data := await reader.read(65536):
                if budget is not None and sent + len(data) > budget:
                    writer.write(data[: budget - sent])
                    await writer.drain()
                    self.seen["cut"] += 1
                    raise ConnectionResetError("cut mid-request")
                if fault == "drop_after":
                    raise ConnectionResetError("dropped before the answer")
                if fault == "drop_mid":
                    writer.write(data[: max(1, len(data) // 2)])
                    await writer.drain()
                    raise ConnectionResetError("dropped mid-answer")
                writer.write(data)
                await writer.drain()
                sent += len(data)
        finally:
            with contextlib.suppress(Exception):
                writer.close()
