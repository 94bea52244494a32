"""The resident's proposal form: its fields checked as the API checks them, each problem in Dutch.

The limits are those of `api.ProposalRequest`, so a proposal the page accepts is one the JSON API
would accept too; only the way in (form fields, an amount in euros) and the way out (a Dutch
message beside its field) differ.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from starlette.datastructures import FormData

from services.budget.handlers import Contact

FIELDS = ("titel", "beschrijving", "kosten", "naam", "email", "telefoon")
MAX_COST_CENTS = 100_000_000  # api.ProposalRequest's cost_cents bound
_LIMITS = {"titel": 120, "beschrijving": 4000, "kosten": 20, "naam": 200, "email": 254,
           "telefoon": 40}  # fmt: skip
_AMOUNT = re.compile(r"^(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d{1,2}))?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[\d ()-]{8,40}$")


@dataclass(frozen=True)
class Proposal:
    """A proposal as the form gave it, with every problem by field (empty: it can be sent)."""

    values: dict[str, str]
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def cost_cents(self) -> int:
        """The cost in cents (only for a proposal without problems)."""
        cents = euros_to_cents(self.values["kosten"])
        assert cents is not None, "a proposal with problems has no cost"
        return cents

    @property
    def contact(self) -> Contact:
        """The initiator's contact, to be sealed."""
        v = self.values
        return Contact(v["naam"], v["email"] or None, v["telefoon"] or None)


def euros_to_cents(text: str) -> int | None:
    """An amount as a resident types it (`25`, `25,50`, `€ 1.250`) in cents; None if unreadable."""
    plain = text.replace("€", "").replace(" ", "").strip()
    if re.fullmatch(r"\d+\.\d{1,2}", plain):  # 25.50: a decimal point, not thousands
        plain = plain.replace(".", ",")
    found = _AMOUNT.match(plain)
    if found is None:
        return None
    whole, part = found.group(1).replace(".", ""), (found.group(2) or "0").ljust(2, "0")
    return int(whole) * 100 + int(part)


def read(form: FormData) -> Proposal:
    """The form's fields, trimmed, with a Dutch problem for each field that cannot be sent."""
    values = {name: str(form.get(name) or "").strip() for name in FIELDS}
    problems: dict[str, str] = {}
    for name, value in values.items():
        if "\x00" in value:
            problems[name] = "Dit veld bevat een teken dat we niet kunnen bewaren."
        elif len(value) > _LIMITS[name]:
            problems[name] = f"Dit is te lang: hoogstens {_LIMITS[name]} tekens."
    _check(values, problems)
    return Proposal(values, problems)


def _check(v: dict[str, str], problems: dict[str, str]) -> None:
    def problem(name: str, message: str) -> None:
        problems.setdefault(name, message)

    if len(v["titel"]) < 3:
        problem("titel", "Geef uw initiatief een titel van minstens 3 tekens.")
    cents = euros_to_cents(v["kosten"])
    if not v["kosten"]:
        problem("kosten", "Vul in wat het initiatief kost, in euro's.")
    elif cents is None:
        problem("kosten", "Vul een bedrag in euro's in, bijvoorbeeld 250 of 250,50.")
    elif cents <= 0:
        problem("kosten", "Het bedrag moet meer dan € 0 zijn.")
    elif cents > MAX_COST_CENTS:
        problem("kosten", "Het bedrag is te hoog voor het buurtbudget: hoogstens € 1.000.000.")
    if not v["naam"]:
        problem("naam", "Vul uw naam in, zodat de gemeente weet wie het initiatief indient.")
    if v["email"] and not _EMAIL.match(v["email"]):
        problem("email", "Dit is geen geldig e-mailadres, bijvoorbeeld naam@voorbeeld.nl.")
    if v["telefoon"] and not _PHONE.match(v["telefoon"]):
        problem("telefoon", "Dit is geen geldig telefoonnummer, bijvoorbeeld 06 12345678.")
    if not v["email"] and not v["telefoon"]:
        problem("email", "Vul een e-mailadres of een telefoonnummer in, zodat we u kunnen "
                "bereiken.")  # fmt: skip
