"""The operator registry: named operators with a role and a hashed password, from a file.

Like the partner registry (wijkbus.partners), a YAML list; a password is stored only as its
scrypt hash (`hash_password`), so the file holds no secret an operator could log in with.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from wijkbus.logging import get_logger
from wijkbus.registry_files import read_entries

log = get_logger(__name__)

Role = Literal["beheerder", "gebiedsmanager", "budgetbeheer", "kijker"]
ROLES: tuple[Role, ...] = ("beheerder", "gebiedsmanager", "budgetbeheer", "kijker")
# scrypt's cost: 16 MiB and some 50 ms per check, which makes guessing a stolen hash slow.
_N, _R, _P = 2**14, 8, 1
_SCRYPT = r"^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$"


class OperatorRegistryError(ValueError):
    """The operator registry file cannot be used; the message says where and why."""


class Operator(BaseModel):
    """One operator account, as registered."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]*$", max_length=63)
    role: Role
    password_scrypt: str = Field(
        pattern=r"^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$"
    )


def hash_password(password: str) -> str:
    """The password's salted scrypt hash, as `password_scrypt` holds it."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, _N, _R, _P)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def password_matches(password: str, stored: str) -> bool:
    """Whether `password` is the one `stored` (a `hash_password` value) was made of."""
    _, n, r, p, salt, digest = stored.split("$")
    presented = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    return hmac.compare_digest(presented, base64.b64decode(digest))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    secret = password.encode(errors="surrogatepass")
    return hashlib.scrypt(secret, salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# A check against an unknown name costs as much as one against a known name: the time of a
# failed login does not tell whether the name exists.
_DECOY = hash_password(secrets.token_urlsafe(16))


class OperatorRegistry:
    """The registered operators, looked up by name; read again when its file changes, so a
    removed account or a changed role counts from the next request on (sessions included)."""

    def __init__(self, operators: list[Operator], path: Path | None = None) -> None:
        self.operators = {o.name: o for o in operators}
        self._path = path
        self._mtime = _mtime(path)

    def _fresh(self) -> None:
        if self._path is None or (mtime := _mtime(self._path)) == self._mtime:
            return
        self._mtime = mtime
        try:
            self.operators = load_operators(self._path).operators
        except OperatorRegistryError as exc:
            log.error("operator registry reload refused; the old registry stays", reason=str(exc))

    def get(self, name: str) -> Operator | None:
        """The operator with this name, if registered."""
        self._fresh()
        return self.operators.get(name)

    def login(self, name: str, password: str) -> Operator | None:
        """The operator whose name and password these are, else None."""
        self._fresh()
        operator = self.operators.get(name)
        matches = password_matches(password, operator.password_scrypt if operator else _DECOY)
        return operator if operator is not None and matches else None


def load_operators(path: Path | None) -> OperatorRegistry:
    """Read and check the registry file (none: no accounts); any problem stops the service."""
    if path is None:
        return OperatorRegistry([])
    operators, problems = read_entries(
        path, Operator, "operator", OperatorRegistryError, lambda _: ""
    )
    names = [o.name for o in operators]
    problems += [f"operator {n}: duplicate name" for n in sorted(set(names)) if names.count(n) > 1]
    if problems:
        raise OperatorRegistryError(f"{path}: " + "; ".join(problems))
    return OperatorRegistry(operators, path)


def _mtime(path: Path | None) -> float | None:
    try:
        return path.stat().st_mtime if path is not None else None
    except OSError:
        return None
