"""One webhook POST as CONTRACT.md describes it, measured and summarised as an AttemptResult.

The destination is checked at every send (services.notify.targets): resolved, every address
checked, and the request sent to the checked address with the original Host and TLS name.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from contracts import binary_mode
from contracts.envelope import CONTENT_TYPE
from services.notify import signatures
from services.notify.crypto import sign
from services.notify.domain import AttemptResult
from services.notify.hosts import HostClients
from services.notify.targets import (
    AddressPolicy,
    Lookup,
    TargetRefused,
    check_target,
    system_lookup,
)

USER_AGENT = "wijkbus-notify/1"
_EXCERPT_BYTES = 300


class WebhookSender:
    """Posts CloudEvents to subscribers; never raises for what the receiver does."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        timeout_s: float,
        policy: AddressPolicy | None = None,
        lookup: Lookup = system_lookup,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        clients: HostClients | None = None,
    ) -> None:
        self.client = client
        # Deliveries go through a keep-alive client per host; without, all through `client`.
        self.clients = clients
        self.timeout_s = timeout_s
        self.policy = policy or AddressPolicy()
        self.lookup = lookup
        self.clock = clock

    async def post(
        self,
        url: str,
        authorization: str,
        signing_secret: str,
        body: bytes,
        message_id: str,
        *,
        content_type: str | None = None,
        binary: bool = False,
    ) -> AttemptResult:
        """POST the event `body` signed with `signing_secret` twice: `wijkbus-signature` (the
        secret as the key) and Standard Webhooks (webhook-id `message_id`, the time of this
        attempt); in binary mode its ce-* headers and data, wijkbus-signature binding both. A
        body that is no CloudEvent (a notificatie) says its `content_type`."""
        headers, body = _as_sent(signing_secret.encode(), body, binary, content_type)
        headers |= {
            "Authorization": authorization,
            **signatures.headers(signing_secret, message_id, self.clock(), body),
            "User-Agent": USER_AGENT,
        }
        started = time.perf_counter()
        try:
            # httpx times each phase; this bounds the whole exchange, slow-drip answers included.
            async with asyncio.timeout(self.timeout_s):
                target = await check_target(url, self.policy, self.lookup)
                headers["Host"] = target.host_header
                extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else {}
                # A lane of the host's clients, held for this exchange; else the one client.
                lane = self.clients.host(url).client() if self.clients else None
                async with (
                    lane or contextlib.nullcontext(self.client) as client,
                    client.stream(
                        "POST",
                        target.url,
                        content=body,
                        headers=headers,
                        timeout=self.timeout_s,
                        extensions=extensions,
                    ) as response,
                ):
                    excerpt = await _excerpt(response)
        except TargetRefused as refused:
            return AttemptResult(None, _ms(started), error=str(refused))
        except (TimeoutError, httpx.TimeoutException):
            return AttemptResult(None, _ms(started), error=f"no answer within {self.timeout_s:g} s")
        except httpx.HTTPError as exc:
            return AttemptResult(None, _ms(started), error=f"{type(exc).__name__}: {exc}"[:500])
        code = response.status_code
        failed = not 200 <= code < 300
        # The receiver's words go to the operator's attempt log only (AttemptResult.excerpt),
        # never into what a partner is shown.
        return AttemptResult(
            code,
            _ms(started),
            error=f"HTTP {code}" if failed else None,
            retry_after=response.headers.get("retry-after"),
            excerpt=excerpt if failed and excerpt else None,
        )


def _as_sent(
    secret: bytes, event: bytes, binary: bool, content_type: str | None = None
) -> tuple[dict[str, str], bytes]:
    """The content headers and body of a delivery: the structured event, or its binary form
    with a signature that binds the ce-* headers too (README.md, "Binary content mode")."""
    if not binary:
        kind = content_type or CONTENT_TYPE
        return {"Content-Type": kind, "wijkbus-signature": sign(secret, event)}, event
    headers, data = binary_mode.http_headers(json.loads(event))
    signed = binary_mode.signed_bytes(headers, data, binary_mode.HTTP_PREFIX)
    return {**headers, "wijkbus-signature": sign(secret, signed)}, data


async def _excerpt(response: httpx.Response) -> str:
    """The start of the answer's body, for telling an operator what the receiver said."""
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= _EXCERPT_BYTES:
            break
    text = b"".join(chunks)[:_EXCERPT_BYTES].decode(errors="replace")
    return " ".join(text.split())


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
