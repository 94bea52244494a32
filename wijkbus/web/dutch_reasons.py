"""Why something was refused or dead-lettered, in Dutch for the operator pages.

Intake stores a refusal as 'field: message' and the kit a dead letter as its reason, both in
English (partners and logs read those). Pages show them through `refusal` and `dead_letter`:
a known message becomes its Dutch sentence, an unknown one a general Dutch description; the
English original stays available as the element's tooltip.
"""

from __future__ import annotations

import re

STATUSES = {
    "accepted": "geaccepteerd",
    "duplicate": "dubbel",
    "invalid": "ongeldig",
    "forbidden": "niet toegestaan",
    "conflict": "conflict",
    "unauthenticated": "niet geauthenticeerd",
}
_MESSAGES = [
    (r"source must be this partner's registered source", "de bron is niet die van deze partner"),
    (r"partner \S+ may not send category (\S+)", r"deze partner mag geen \1 melden"),
    (r"already received with a different body", "dit event-id kwam al binnen met andere inhoud"),
    (r"no signal with this id is known", "er is geen signaal met dit id"),
    (r"only the partner the signal is currently assigned", "alleen de toegewezen partner mag dit"),
    (r"is in the future", "de waarnemingstijd ligt in de toekomst"),
    (r"missing or wrong signature", "handtekening ontbreekt of klopt niet"),
    (r"event is larger than (\d+) bytes", r"het event is groter dan \1 bytes"),
    (r"nested too deeply", "het event is te diep genest"),
    (r"must not contain NUL", "de tekst bevat een NUL-teken"),
    (r"\btype\b.*\bis not known", "dit type event kennen we niet"),
    (r"data is required", "het veld data ontbreekt"),
    (r"person is required for huurachterstand", "bij huurachterstand hoort een persoon"),
    (r"person is only allowed for huurachterstand", "een persoon mag alleen bij huurachterstand"),
    (r"datacontenttype must be application/json", "datacontenttype moet application/json zijn"),
    (r"Field required", "verplicht veld ontbreekt"),
    (r"Extra inputs are not permitted", "dit veld kennen we niet"),
    (r"Input should be a valid (datetime|date)", "geen geldige datum of tijd"),
    (r"Input should be a valid (string|integer|number|boolean)", "verkeerd soort waarde"),
    (r"Input should be", "deze waarde is niet toegestaan"),
    (r"String should match pattern", "de waarde heeft niet de juiste vorm"),
    (r"String should have at (most|least)", "de tekst is te lang of te kort"),
    (r"Value error, (.*)", "ongeldige waarde"),
]
_DEAD = [
    (r"^invalid: ", "bericht voldoet niet aan het contract"),
    (r"^not a CloudEvent", "bericht is geen CloudEvent"),
    (r"^unexpected event type", "soort bericht dat deze verwerker niet neemt"),
    (r"^(cannot decode|undecodable|not JSON|JSONDecodeError)", "bericht is niet te lezen"),
    (r"unknown (type|event)", "onbekend soort bericht"),
    (r"^(TimeoutError|ConnectionError|OSError|PostgresConnectionError)", "verbinding mislukte"),
]


def status(value: str) -> str:
    """An intake outcome status in Dutch ('invalid' → 'ongeldig')."""
    return STATUSES.get(value, value)


def message(text: str) -> str:
    """One English refusal message as a Dutch phrase; 'ongeldige invoer' when it is not known."""
    for pattern, dutch in _MESSAGES:
        found = re.search(pattern, text)
        if found:
            return found.expand(dutch)
    return "ongeldige invoer"


def refusal(reason: str | None) -> str:
    """A stored 'field: message' refusal as 'veld data.street: verplicht veld ontbreekt'."""
    if not reason:
        return "–"
    field, sep, text = reason.partition(": ")
    if not sep or " " in field:
        return message(reason)
    return f"veld {field}: {message(text)}" if field else message(text)


def dead_letter(reason: str) -> str:
    """A dead letter's reason as a Dutch phrase, naming the fields when the contract failed."""
    for pattern, dutch in _DEAD:
        if re.search(pattern, reason):
            if dutch.startswith("bericht voldoet"):
                fields = re.findall(r"(?:^invalid: |; )([\w.]+):", reason)
                return f"{dutch} ({', '.join(fields)})" if fields else dutch
            return dutch
    return "verwerking mislukte steeds opnieuw"
