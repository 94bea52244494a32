"""Operator login through an OpenID Connect provider (authorization code flow), if configured.

GET /login/oidc sends the operator to the provider with a random `state` and `nonce`, kept in
a short-lived cookie; GET /login/oidc/callback takes the code back, redeems it at the token
endpoint (client_secret_basic) and checks the ID token with joserfc (authlib's JOSE library):
signature by the provider's JWKS, issuer, audience, expiry and nonce. The operator's name is
its `preferred_username`, the role the claim WIJKBUS_OIDC_ROLE_CLAIM names (one of the four).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from wijkbus.operators import ROLES

FLOW_COOKIE = "wijkbus_oidc"
FLOW_TTL_S = 600


class OidcRefused(Exception):
    """The provider's answer does not log anyone in; the message says why (never a token)."""


@dataclass(frozen=True)
class Provider:
    """One OpenID Connect provider and this service's client registration at it."""

    issuer: str
    client_id: str
    client_secret: str
    role_claim: str

    async def _metadata(self, http: httpx.AsyncClient) -> dict[str, Any]:
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        answer = await http.get(url)
        answer.raise_for_status()
        metadata: dict[str, Any] = answer.json()
        if metadata.get("issuer") != self.issuer:
            raise OidcRefused("the provider's metadata names another issuer")
        return metadata

    async def authorize_url(self, redirect_uri: str, state: str, nonce: str) -> str:
        """Where to send the operator's browser to log in."""
        async with httpx.AsyncClient(timeout=10) as http:
            endpoint = (await self._metadata(http))["authorization_endpoint"]
        query = {"response_type": "code", "client_id": self.client_id, "scope": "openid profile",
                 "redirect_uri": redirect_uri, "state": state, "nonce": nonce}  # fmt: skip
        return f"{endpoint}?{urlencode(query)}"

    async def operator(self, code: str, redirect_uri: str, nonce: str) -> tuple[str, str]:
        """Redeem the code; the (name, role) its checked ID token gives."""
        async with httpx.AsyncClient(timeout=10) as http:
            metadata = await self._metadata(http)
            answer = await http.post(
                metadata["token_endpoint"], auth=(self.client_id, self.client_secret),
                data={"grant_type": "authorization_code", "code": code,
                      "redirect_uri": redirect_uri},
            )  # fmt: skip
            if answer.status_code != 200 or "id_token" not in answer.json():
                raise OidcRefused(f"the token endpoint answered {answer.status_code}")
            keys = KeySet.import_key_set((await http.get(metadata["jwks_uri"])).json())
        return self._claims(answer.json()["id_token"], keys, nonce)

    def _claims(self, id_token: str, keys: KeySet, nonce: str) -> tuple[str, str]:
        try:
            claims = jwt.decode(id_token, keys).claims
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.client_id},
                exp={"essential": True}, nonce={"essential": True, "value": nonce},
            ).validate(claims)  # fmt: skip
        except (JoseError, ValueError) as exc:
            raise OidcRefused(f"the ID token is not valid: {type(exc).__name__}") from exc
        name, role = claims.get("preferred_username"), claims.get(self.role_claim)
        if not isinstance(name, str) or not name or role not in ROLES:
            raise OidcRefused(f"the ID token names no operator with a wijkbus role ({role!r})")
        return name[:64], str(role)


def new_flow() -> tuple[str, str]:
    """A fresh (state, nonce) for one login."""
    return secrets.token_urlsafe(24), secrets.token_urlsafe(24)
