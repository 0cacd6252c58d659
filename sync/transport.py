"""HTTP to the server: problem details become :class:`SyncError`, transient failures retry.

httpx and tenacity are imported when the first call is made (or :meth:`Transport.prepare`
is called): a device that starts offline, or a console showing its sign-in screen, does
not wait for them (httpx alone takes about a tenth of a second to import).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hierarchy.errors import DaibanError

if TYPE_CHECKING:
    import httpx

#: Seconds an idle connection is kept: less than the server keeps it.
KEEPALIVE = 2.0
#: Statuses worth trying again: the server or the path to it is having a bad moment.
TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class SyncError(DaibanError):
    """An error reaching or answered by the server, with the server's stable code."""

    def __init__(self, code: str, message: str, /, *, status: int = 0, transient: bool = False, **data: Any) -> None:
        super().__init__(code, message, **data)
        self.status = status
        self.transient = transient


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, SyncError) and exc.transient


class Transport:
    """A small httpx wrapper: bearer token, JSON, retries with backoff on transient errors."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        attempts: int = 5,
        wait_initial: float = 0.5,
        wait_max: float = 10.0,
        timeout: float = 15.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.attempts = attempts
        self.wait_initial = wait_initial
        self.wait_max = wait_max
        self.timeout = timeout
        self._client = client

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx

            # Idle connections are dropped before the server's own keep-alive (uvicorn: 5 s)
            # ends them, so a call is never sent down a connection as it is being closed.
            self._client = httpx.AsyncClient(timeout=self.timeout, limits=httpx.Limits(keepalive_expiry=KEEPALIVE))
        return self._client

    def prepare(self) -> None:
        """Import httpx and build the HTTP client now rather than at the first call."""
        _ = self.client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def call(self, method: str, path: str, *, auth: bool = True, retry: bool = True, **kwargs: Any) -> Any:
        """One API call; the decoded JSON answer, or a SyncError with the server's code."""
        from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.attempts if retry else 1),
            wait=wait_exponential_jitter(multiplier=self.wait_initial, max=self.wait_max),
            retry=retry_if_exception(_transient),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._once(method, path, auth, **kwargs)
        raise AssertionError("unreachable")  # pragma: no cover

    async def raw(self, method: str, path: str, *, auth: bool = True, **kwargs: Any) -> bytes:
        """One call, not retried: the answer's bytes, for a caller that decodes them into its
        own types (the console); refusals and failures raise as :meth:`call` does."""
        response = await self._send(method, path, auth, **kwargs)
        return response.content

    async def _send(self, method: str, path: str, auth: bool, **kwargs: Any) -> httpx.Response:
        import httpx

        headers = dict(kwargs.pop("headers", {}) or {})
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = await self.client.request(method, self.base_url + path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise SyncError(
                "network.unreachable", f"cannot reach the server: {type(exc).__name__}", transient=True
            ) from exc
        if response.status_code >= 400:
            raise _problem(response)
        return response

    async def _once(self, method: str, path: str, auth: bool, **kwargs: Any) -> Any:
        response = await self._send(method, path, auth, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise SyncError("network.bad_answer", "the answer was cut off or garbled", transient=True) from exc


def problem_parts(response: httpx.Response) -> tuple[str, str, dict[str, Any]]:
    """The stable code, the message and the extra members of a problem-details answer."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = str(body.get("code") or f"http.{response.status_code}")
    message = str(body.get("detail") or body.get("title") or response.reason_phrase)
    extra = {k: v for k, v in body.items() if k not in ("type", "title", "status", "detail", "code", "instance")}
    return code, message, extra


def _problem(response: httpx.Response) -> SyncError:
    code, detail, extra = problem_parts(response)
    return SyncError(
        code, detail, status=response.status_code, transient=response.status_code in TRANSIENT_STATUS, **extra
    )
