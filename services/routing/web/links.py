"""Where routing's pages link: every signal to its trail, every street name to its page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from services.routing.web import buurten
from services.routing.web.readable import street_of


def signal_path(signal_id: str) -> str:
    """The operator's page of one signal."""
    return f"/dashboard/signalen/{quote(signal_id, safe='')}"


def street_path(street_key: str) -> str:
    """The operator's page of one street (the key may hold ':' and '/')."""
    return f"/dashboard/straten/{quote(street_key, safe='')}"


def signal_link(signal_id: str) -> Markup:
    """The signal's short id, linked to its page, the whole id in a tooltip."""
    short = signal_id if len(signal_id) <= 13 else signal_id[:12] + "…"
    return Markup('<a href="{href}" class="signaal"><code title="{id}">{short}</code></a>').format(
        href=signal_path(signal_id), id=signal_id, short=short
    )


def street_link(row: Mapping[str, Any]) -> Markup:
    """The row's street as people write it, linked to its page, the key in a tooltip."""
    return Markup('<a href="{href}" class="straat" title="{key}">{name}</a>').format(
        href=street_path(row["street_key"]), key=row["street_key"], name=street_of(row)
    )


@jinja2.pass_context
def buurt(context: jinja2.runtime.Context, code: str | None) -> Markup:
    """The buurt's name (from WIJKBUS_BUURTEN) with its code in a tooltip."""
    return buurten.buurt_html(context["request"].app.state.buurten, code)


@jinja2.pass_context
def partner(context: jinja2.runtime.Context, partner_id: str | None) -> Markup:
    """The partner's name from the registry, its id in a tooltip (the id alone if unknown)."""
    if not partner_id:
        return escape(buurten.NOTHING)
    found = context["request"].app.state.partners.get(partner_id)
    return Markup('<span class="partner" title="{id}">{name}</span>').format(
        id=partner_id, name=found.name if found else partner_id
    )


def install(templates: Jinja2Templates) -> None:
    """Give routing's templates the link filters."""
    templates.env.filters.update(
        signaal=signal_link,
        straatlink=street_link,
        straatpad=street_path,
        buurt=buurt,
        partner=partner,
    )
