"""Operator authentication for dashboards and write APIs: a bearer token or a login cookie."""

from __future__ import annotations

import hashlib
import hmac

from fastapi import HTTPException, Request

COOKIE = "wijkbus_operator"


def session_value(operator_token: str) -> str:
    """The cookie value for a logged-in operator: derived from, never equal to, the token."""
    return hmac.new(
        operator_token.encode(), b"wijkbus-operator-session", hashlib.sha256
    ).hexdigest()


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


def is_operator(request: Request, operator_token: str) -> bool:
    """Whether the request comes from an operator (bearer token or session cookie)."""
    token = bearer(request)
    if token is not None:
        return is_operator_token(token, operator_token)
    cookie = request.cookies.get(COOKIE, "")
    return bool(operator_token) and same_secret(cookie, session_value(operator_token))


class LoginRequired(Exception):
    """Raised for a dashboard page without a logged-in operator: redirect to the login form."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def require_operator_api(request: Request) -> None:
    """FastAPI dependency for operator APIs: 403 problem for a partner's API key (known, but
    not allowed here), 401 unless an operator calls."""
    if is_operator(request, request.app.state.settings.operator_token):
        return
    key = bearer(request)
    partners = getattr(request.app.state, "partners", None)
    if key and partners is not None and partners.by_api_key(key) is not None:
        raise HTTPException(403, "this endpoint is for operators; a partner key may not use it")
    raise HTTPException(
        401, "operator authentication required", headers={"WWW-Authenticate": "Bearer"}
    )


def require_operator_page(request: Request) -> None:
    """FastAPI dependency for dashboard pages: redirect to /login unless an operator looks."""
    if not is_operator(request, request.app.state.settings.operator_token):
        raise LoginRequired(request.url.path)


def form_token(operator_token: str, form: str) -> str:
    """A dashboard's anti-CSRF token for `form`: derived from the operator secret, never it."""
    return hmac.new(
        session_value(operator_token).encode(), form.encode(), hashlib.sha256
    ).hexdigest()


def require_form_token(request: Request, presented: str, form: str) -> None:
    """403 unless a bearer call (checked as an operator already) or the form token matches.

    A cross-site form carries the login cookie but cannot know the token.
    """
    expected = form_token(request.app.state.settings.operator_token, form)
    if bearer(request) is None and not same_secret(presented, expected):
        raise HTTPException(403, "missing or wrong form token")


def partner_or_operator(request: Request) -> str | None:
    """FastAPI dependency for APIs partners and operators share: None for an operator (token or
    login), else the id of the partner whose API key the request bears; 401 otherwise."""
    if is_operator(request, request.app.state.settings.operator_token):
        return None
    key = bearer(request)
    partner = request.app.state.partners.by_api_key(key) if key else None
    if partner is None:
        raise HTTPException(
            401, "missing or unknown API key", headers={"WWW-Authenticate": "Bearer"}
        )
    return str(partner.id)
