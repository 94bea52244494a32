"""E-mail: Dutch notifications rendered per event type, sent over SMTP with aiosmtplib.

A mail says only what its recipient may see: street level, no personal data. Templates name
every field they show, so a field added to an event later never reaches a mailbox by accident.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiosmtplib
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from contracts.events import (
    INITIATIVE_DECLINED_TYPE,
    INITIATIVE_FUNDED_TYPE,
    ROUTING_ASSIGNED_TYPE,
    ROUTING_ESCALATED_TYPE,
    STREET_THRESHOLD_CROSSED_TYPE,
)
from contracts.wijkhubs import (
    WIJKHUB_ADVISED_TYPE,
    WIJKHUB_CLOSED_TYPE,
    WIJKHUB_DECLINED_TYPE,
    WIJKHUB_EXTENDED_TYPE,
    WIJKHUB_OPENED_TYPE,
)
from services.notify.domain import AttemptResult

TEMPLATES = {
    ROUTING_ASSIGNED_TYPE: "assigned.txt",
    ROUTING_ESCALATED_TYPE: "escalated.txt",
    STREET_THRESHOLD_CROSSED_TYPE: "threshold_crossed.txt",
    INITIATIVE_FUNDED_TYPE: "initiative_funded.txt",
    INITIATIVE_DECLINED_TYPE: "initiative_declined.txt",
    WIJKHUB_ADVISED_TYPE: "wijkhub_advised.txt",
    WIJKHUB_OPENED_TYPE: "wijkhub_opened.txt",
    WIJKHUB_DECLINED_TYPE: "wijkhub_declined.txt",
    WIJKHUB_EXTENDED_TYPE: "wijkhub_extended.txt",
    WIJKHUB_CLOSED_TYPE: "wijkhub_closed.txt",
}
GENERIC = "generic.txt"
_LOCAL = ZoneInfo("Europe/Amsterdam")


@dataclass(frozen=True)
class Mail:
    """A rendered notification: subject line and plain-text body."""

    subject: str
    text: str


def _when(value: Any) -> str:
    """An ISO timestamp as Dutch local time, e.g. 20-11-2026 21:30."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(_LOCAL).strftime("%d-%m-%Y %H:%M")


def _euro(cents: Any) -> str:
    """Cents as Dutch euros, e.g. € 1.250,00."""
    try:
        amount = int(cents) / 100
    except (TypeError, ValueError):
        return ""
    return "€ " + f"{amount:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")


def _number(value: Any) -> str:
    """A number the Dutch way with one decimal, e.g. 2,5 or -0,3; empty when there is none."""
    try:
        return f"{float(value):.1f}".replace(".", ",")
    except (TypeError, ValueError):
        return ""


class MailRenderer:
    """Renders an event into the Dutch mail for its type (a short generic one for others)."""

    def __init__(self, directory: Path | None = None) -> None:
        self._env = Environment(
            loader=FileSystemLoader(directory or Path(__file__).parent / "mail_templates"),
            autoescape=False,  # noqa: S701 - plain-text mail, never HTML
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters["tijd"] = _when
        self._env.filters["euro"] = _euro
        self._env.filters["getal"] = _number

    def render(self, body: bytes) -> Mail:
        """The mail for a stored CloudEvent (its JSON body)."""
        event = json.loads(body)
        data = event.get("data") if isinstance(event.get("data"), dict) else {}
        template = self._env.get_template(TEMPLATES.get(event.get("type", ""), GENERIC))
        subject, _, text = template.render(event=event, d=_Fields(data)).partition("\n")
        return Mail(subject.strip(), text.lstrip("\n"))


class _Fields:
    """Event data where a missing field reads as None, so templates can test for it."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getattr__(self, name: str) -> Any:
        return self._data.get(name)


class MailSender:
    """Sends one mail per delivery over SMTP; never raises for what the server does."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.starttls, self.timeout_s = starttls, timeout_s
        self.username, self.password = username, password

    async def send(self, to: str, mail: Mail, *, key: str, event_id: str) -> AttemptResult:
        """Send `mail` to `to`; `key` makes the Message-ID the same on every retry."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = mail.subject
        message["Date"] = format_datetime(datetime.now(UTC))
        message["Message-ID"] = f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@wijkbus>"
        message["X-Wijkbus-Event-Id"] = event_id
        message.set_content(mail.text)
        started = time.perf_counter()
        try:
            await aiosmtplib.send(
                message,
                hostname=self.host,
                port=self.port,
                start_tls=self.starttls,
                use_tls=False,
                username=self.username,
                password=self.password,
                timeout=self.timeout_s,
            )
        except aiosmtplib.SMTPResponseException as exc:
            return AttemptResult(exc.code, _ms(started), error=f"SMTP {exc.code}: {exc.message}")
        except aiosmtplib.SMTPRecipientsRefused as exc:
            code = exc.recipients[0].code if exc.recipients else None
            return AttemptResult(code, _ms(started), error=f"SMTP recipient refused ({code})")
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return AttemptResult(None, _ms(started), error=f"{type(exc).__name__}: {exc}"[:500])
        # 250 is the SMTP "accepted" reply: a 2xx like a webhook's, so the same rules apply.
        return AttemptResult(250, _ms(started))


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
