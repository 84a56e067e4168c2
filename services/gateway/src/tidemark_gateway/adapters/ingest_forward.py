"""The forward of `/ingest/{path}` to ingest's `/{path}` (httpx): the web UI writes tracker data on
its own origin, with its session cookie and CSRF header, and ingest (which reads the same sessions
through `tidemark_identity`) authenticates, authorises, validates and answers. The forward itself
grants nothing: it passes the caller's credentials on and ingest's answer back.

What passes: the method, the path and query string, the body as a stream (never read whole here;
the gateway's body limit stays in front and ingest enforces its own), the request headers of
`PASSED_REQUEST_HEADERS`, the client's address as `X-Forwarded-For`; back, ingest's status, body
(streamed) and headers, less the hop-by-hop ones and the security headers the gateway sets itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

import httpx

PASSED_REQUEST_HEADERS = frozenset(
    {"authorization", "cookie", "x-csrf-token", "content-type", "content-length", "accept", "traceparent"}
)
"""The request headers ingest is given: credentials, the body's type and length, what the caller accepts."""

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
     "transfer-encoding", "upgrade", "proxy-connection"}
)
"""Headers of one connection, never forwarded (RFC 9110, 7.6.1), nor any a `Connection` header names."""

GATEWAY_OWN = frozenset(
    {"content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options", "server", "date"}
)
"""Answer headers the gateway writes itself (its security headers; its server's `server` and `date`)."""

TIMEOUT = httpx.Timeout(120.0, connect=5.0)
"""A large batch or upload may take ingest a while; a connection that does not open is ingest down."""


def request_headers(headers: Iterable[tuple[str, str]], client: str | None) -> list[tuple[str, str]]:
    """The headers ingest gets: those of `PASSED_REQUEST_HEADERS`, the client's address as
    `X-Forwarded-For`, and `Accept-Encoding: identity` (the gateway compresses its own answers)."""
    passed = [(name, value) for name, value in headers if name.lower() in PASSED_REQUEST_HEADERS]
    passed.append(("accept-encoding", "identity"))
    if client:
        passed.append(("x-forwarded-for", client))
    return passed


def answer_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Ingest's answer headers, less the hop-by-hop ones (and those its `Connection` names) and the
    gateway's own."""
    pairs = list(headers)
    named = {token.strip().lower() for name, value in pairs if name.lower() == "connection" for token in value.split(",")}
    dropped = HOP_BY_HOP | GATEWAY_OWN | named
    return [(name, value) for name, value in pairs if name.lower() not in dropped]


class IngestUnavailable(Exception):
    """Ingest could not be reached, or did not answer in time."""


@dataclass(frozen=True, slots=True)
class Forwarded:
    """Ingest's answer: its status and headers, and its body as it arrives."""

    status: int
    headers: list[tuple[str, str]]
    body: AsyncIterator[bytes]
    response: httpx.Response
    """Ingest's answer itself, to close once its body is sent on."""


class IngestForward:
    """An HTTP client of one ingest (`INGEST_URL`), pooled for the process's life."""

    def __init__(self, ingest_url: str, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.client = httpx.AsyncClient(
            base_url=ingest_url.rstrip("/"), timeout=TIMEOUT, follow_redirects=False, transport=transport
        )

    async def forward(
        self, method: str, raw_path: bytes, headers: Iterable[tuple[str, str]], client: str | None,
        body: AsyncIterator[bytes] | None,
    ) -> Forwarded:
        """Send the request on (`raw_path`: ingest's path and query string, as the client encoded them)
        and start ingest's answer (the caller closes its `response`)."""
        request = self.client.build_request(
            method, httpx.URL(raw_path.decode("ascii")), headers=request_headers(headers, client), content=body,
        )
        try:
            response = await self.client.send(request, stream=True)
        except (httpx.TimeoutException, httpx.TransportError) as error:
            raise IngestUnavailable(f"ingest did not answer: {type(error).__name__}") from error
        return Forwarded(response.status_code, answer_headers(response.headers.multi_items()), response.aiter_raw(),
                         response)

    async def aclose(self) -> None:
        await self.client.aclose()
