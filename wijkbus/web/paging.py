"""Paged lists on operator pages: which page, how many in all, and the links between pages."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import HTTPException

PAGE_SIZE = 50


class UnknownPage(ValueError):
    """A page number that is no page number (not a positive whole number)."""


@dataclass(frozen=True)
class Page:
    """One page of a list whose total the database counted."""

    number: int
    total: int
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        """How many pages the whole list has (at least one, if empty)."""
        return max((self.total + self.size - 1) // self.size, 1)

    @property
    def offset(self) -> int:
        """How many rows come before this page."""
        return (self.number - 1) * self.size


def page_of(raw: str | None, total: int, size: int = PAGE_SIZE) -> Page:
    """The page asked for, kept to the last page there is; UnknownPage for no page number."""
    text = (raw or "1").strip()
    if not text.isdigit() or len(text) > 6 or int(text) < 1:
        raise UnknownPage(text)
    return Page(min(int(text), max((total + size - 1) // size, 1)), total, size)


def link(
    path: str, params: Mapping[str, str], keep: Iterable[str], anchor: str = "", **changes: object
) -> str:
    """`path` with the query's `keep` parameters (filters, other lists' pages) and `changes`."""
    kept = {name: params[name] for name in keep if params.get(name)}
    kept.update({k: str(v) for k, v in changes.items() if v is not None})
    return f"{path}?{urlencode(kept)}" + (f"#{anchor}" if anchor else "")


@asynccontextmanager
async def unknown_page_is_400() -> AsyncIterator[None]:
    """Answer a page number that is none with 400, in Dutch, as a filter that cannot be."""
    try:
        yield
    except UnknownPage as exc:
        raise HTTPException(400, "onbekende waarde voor een paginanummer") from exc
