"""Operator authentication for dashboards and write APIs: a bearer token or a login session.

Who acts is an `Actor`: a named operator logged in on the dashboard (wijkbus.sessions), or an
API client bearing WIJKBUS_OPERATOR_TOKEN, which acts as a beheerder under the name its
X-Wijkbus-Operator header gives (else "operator"). What a role may write: `requires`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import HTTPException, Request

from wijkbus import sessions
from wijkbus.operators import ROLES

COOKIE = "wijkbus_operator"
TOKEN_OPERATOR = "operator"  # noqa: S105 - a name, not a secret
_UNKNOWN = object()


@dataclass(frozen=True)
class Actor:
    """The operator a request acts for; `session` is the login's cookie (None for a bearer)."""

    name: str
    role: str
    session: str | None = None


def cookie_name(service: str) -> str:
    """The login cookie of one service: each keeps its own sessions (and all share a host)."""
    return f"{COOKIE}_{service}"


def same_secret(presented: str, expected: str) -> bool:
    """Constant-time comparison of a presented secret with the expected one, as UTF-8 bytes.

    `hmac.compare_digest` raises TypeError for a str with non-ASCII characters, and a cookie,
    a header or a form field can carry any: a wrong secret, never a 500.
    """
    return hmac.compare_digest(presented.encode(errors="surrogatepass"), expected.encode())


def is_operator_token(presented: str, operator_token: str) -> bool:
    """Constant-time check of an operator token; an empty configured token never matches."""
    return bool(operator_token) and same_secret(presented, operator_token)


def bearer(request: Request) -> str | None:
    """The bearer token of the request, if any."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def actor(request: Request) -> Actor | None:
    """The operator the request comes from (bearer token or live session), else None."""
    found = getattr(request.state, "actor", _UNKNOWN)
    if found is _UNKNOWN:
        found = request.state.actor = await _identify(request)
    assert found is None or isinstance(found, Actor)
    return found


async def _identify(request: Request) -> Actor | None:
    settings = request.app.state.settings
    token = bearer(request)
    if token is not None:
        if not is_operator_token(token, settings.operator_token):
            return None
        named = request.headers.get("x-wijkbus-operator", "")[:64].strip()
        return Actor(named or TOKEN_OPERATOR, "beheerder")
    cookie = request.cookies.get(cookie_name(settings.service_name), "")
    live = await sessions.current(request.app.state.runtime.pool, cookie, now()) if cookie else None
    if live is None:
        return None
    if live.via == "password":  # the registry's word now: a removed account logs in no more
        account = request.app.state.operators.get(live.operator)
        return Actor(account.name, account.role, cookie) if account is not None else None
    return Actor(live.operator, live.role, cookie)


def now() -> datetime:
    """The time sessions are checked against."""
    return datetime.now(UTC)


async def who(request: Request) -> str:
    """The name of the operator acting, for the 'who' fields of decisions and the audit."""
    found = await actor(request)
    return found.name if found is not None else TOKEN_OPERATOR


class LoginRequired(Exception):
    """Raised for a dashboard page without a logged-in operator: redirect to the login form."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


async def require_operator_api(request: Request) -> None:
    """FastAPI dependency for operator APIs: 403 problem for a partner's API key (known, but
    not allowed here), 401 unless an operator calls."""
    if await actor(request) is not None:
        return
    key = bearer(request)
    partners = getattr(request.app.state, "partners", None)
    if key and partners is not None and partners.by_api_key(key) is not None:
        raise HTTPException(403, "this endpoint is for operators; a partner key may not use it")
    raise HTTPException(
        401, "operator authentication required", headers={"WWW-Authenticate": "Bearer"}
    )


async def require_operator_page(request: Request) -> None:
    """FastAPI dependency for dashboard pages: redirect to /login unless an operator looks."""
    if await actor(request) is None:
        raise LoginRequired(request.url.path)


def requires(*roles: str) -> Callable[[Request], Awaitable[None]]:
    """FastAPI dependency: 403 unless the operator is a beheerder or has one of `roles`.

    It goes with `require_operator_api` or `require_operator_page`, which refuse anyone else.
    """

    async def allowed(request: Request) -> None:
        found = await actor(request)
        if found is not None and not has_role(found, *roles):
            raise HTTPException(403, f"an operator with role {found.role} may not do this")

    return allowed


def has_role(found: Actor | None, *roles: str) -> bool:
    """Whether the operator is a beheerder (who may do anything) or has one of `roles`."""
    return found is not None and found.role in ("beheerder", *roles)


def form_token(request: Request, form: str) -> str:
    """A dashboard's anti-CSRF token for `form`: derived from the operator's session cookie.

    Without a session (a bearer call needs no token, see `require_form_token`) a random one,
    which no form can know.
    """
    found = getattr(request.state, "actor", None)
    session = found.session if isinstance(found, Actor) else None
    key = session.encode() if session else secrets.token_bytes(32)
    return hmac.new(key, form.encode(), hashlib.sha256).hexdigest()


def require_form_token(request: Request, presented: str, form: str) -> None:
    """403 unless a bearer call (checked as an operator already) or the form token matches.

    A cross-site form carries the login cookie but cannot know the token.
    """
    if bearer(request) is None and not same_secret(presented, form_token(request, form)):
        raise HTTPException(403, "missing or wrong form token")


def partner_or(*roles: str) -> Callable[[Request], Awaitable[str | None]]:
    """FastAPI dependency for APIs partners and operators share: None for an operator whose
    role may (a beheerder, or one of `roles`; else 403), else the id of the partner whose API
    key the request bears; 401 otherwise."""
    role_check = requires(*roles)

    async def caller(request: Request) -> str | None:
        if await actor(request) is not None:
            await role_check(request)
            return None
        key = bearer(request)
        partner = request.app.state.partners.by_api_key(key) if key else None
        if partner is None:
            raise HTTPException(
                401, "missing or unknown API key", headers={"WWW-Authenticate": "Bearer"}
            )
        return str(partner.id)

    return caller


partner_or_operator = partner_or(*ROLES)  # reads: every operator may look
partner_or_beheerder = partner_or()  # operators' writes to what partners also own
