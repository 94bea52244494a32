"""Notify's dashboard in words an operator reads: where a subscription goes, why a delivery
failed — in Dutch, without an address or a receiver's secret."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

CHANNELS = {"webhook": "webhook", "email": "e-mail", "initiator": "e-mail aan initiatiefnemer"}
_ERRORS = [
    (r"answered 410 Gone", "de ontvanger antwoordde 410 Gone: abonnement beëindigd"),
    (r"the receiver answered (\d+)", r"de ontvanger antwoordde \1"),
    (r"^HTTP (\d+)", r"de ontvanger antwoordde HTTP \1"),
    (r"no answer within (\S+) s", r"geen antwoord binnen \1 s"),
    (r"SMTP recipient refused", "de mailserver weigerde de ontvanger"),
    (r"^SMTP (\d+)", r"de mailserver antwoordde \1"),
    (r"mail not rendered", "de e-mail kon niet worden opgemaakt"),
    (r"NOTIFY_SECRET_KEY", "het geheim is niet te ontsleutelen (NOTIFY_SECRET_KEY veranderd?)"),
    (r"no budget to ask for initiators", "budget is niet bereikbaar voor de initiatiefnemer"),
    (r"(Connect|Connection)", "geen verbinding met de ontvanger"),
]


def destination(sub: Any) -> str:
    """A webhook's host (its path and query may hold a token), or the kind of mail it sends."""
    if sub["channel"] == "webhook" and sub["callback_url"]:
        return f"webhook naar {urlsplit(sub['callback_url']).hostname or '?'}"
    return CHANNELS.get(sub["channel"], sub["channel"])


def delivery_error(text: str | None) -> str:
    """A delivery's stored (English) error as a Dutch phrase, with its attempt count."""
    if not text:
        return ""
    after = re.search(r"\(after (\d+) attempts\)", text)
    said = "de aflevering mislukte"
    for pattern, dutch in _ERRORS:
        if found := re.search(pattern, text):
            said = found.expand(dutch)
            break
    return f"{said} (na {after.group(1)} pogingen)" if after else said
