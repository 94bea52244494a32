"""What a partner reads of its signal: status, where it is and who responds by which rule."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class SignalView(BaseModel):
    """A signal as its sender and its responder see it (never its person)."""

    signal_id: str
    partner_id: str = Field(description="the partner that sent it")
    categorie: str
    subcategory: str | None
    severity: str
    street_key: str
    street: str
    city: str
    buurt_code: str | None
    observed_at: datetime
    received_at: datetime
    status: str = Field(description="ontvangen, toegewezen, opgepakt or afgehandeld")
    assigned_partner_id: str | None = Field(description="who responds now (after escalations)")
    rule_id: str | None = Field(description="the routing rule that assigned it")
    ruleset_version: str | None = Field(description="the version of the rule set that rule is in")
    assigned_at: datetime | None = Field(description="when it was assigned (or escalated)")
    acknowledge_by: datetime | None = Field(
        description="by when the responder must take it up (opgepakt); none: no deadline"
    )
