"""Time in a rule set: weekdays, time-of-day windows and deadlines in working or calendar hours.

Pure: no I/O and no clock; every function takes the moment it reasons about.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

Weekday = Literal["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"]
WEEKDAYS: tuple[Weekday, ...] = (
    "maandag",
    "dinsdag",
    "woensdag",
    "donderdag",
    "vrijdag",
    "zaterdag",
    "zondag",
)
HoursKind = Literal["kalenderuren", "werkuren"]
_FROZEN = ConfigDict(frozen=True, extra="forbid")


def _clock_time(value: Any) -> Any:
    # YAML 1.1 reads an unquoted 22:00 as the base-60 integer 1320; give the time back.
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        return time(value // 60, value % 60)
    return value


# A local wall-clock time without an offset: not JSON Schema's "time" (RFC 3339 full-time,
# which requires one), so the OpenAPI documents what the API writes, e.g. "08:30:00".
CLOCK_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"
ClockTime = Annotated[
    time,
    BeforeValidator(_clock_time),
    WithJsonSchema({"type": "string", "pattern": CLOCK_TIME_PATTERN, "examples": ["08:30"]}),
]


class TimeWindow(BaseModel):
    """A time-of-day window, local time; `from` after `until` wraps past midnight."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    start: ClockTime = Field(alias="from")
    end: ClockTime = Field(alias="until")

    @model_validator(mode="after")
    def _not_empty(self) -> TimeWindow:
        if self.start == self.end:
            raise ValueError("from and until must differ")
        return self

    def contains(self, moment: time) -> bool:
        """Whether the local time of day `moment` falls in [from, until)."""
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


class WorkingHours(BaseModel):
    """When the partners count working hours: these weekdays, between start and end."""

    model_config = _FROZEN

    days: tuple[Weekday, ...] = Field(WEEKDAYS[:5], min_length=1)
    start: ClockTime = time(8, 30)
    end: ClockTime = time(17, 0)

    @model_validator(mode="after")
    def _start_before_end(self) -> WorkingHours:
        if self.start >= self.end:
            raise ValueError("start must be before end")
        return self


def weekday_of(moment: datetime, zone: ZoneInfo) -> Weekday:
    """The local weekday of `moment`, in Dutch."""
    return WEEKDAYS[moment.astimezone(zone).weekday()]


def deadline(
    start: datetime, hours: float, kind: HoursKind, working: WorkingHours, zone: ZoneInfo
) -> datetime:
    """`hours` after `start`: calendar hours, or only hours inside the working week."""
    if kind == "kalenderuren":
        return start + timedelta(hours=hours)
    left = timedelta(hours=hours)
    local = start.astimezone(zone)
    # Walk day by day; at most a year of days, as a rule may ask for up to 8760 hours.
    for _ in range(366 * 8):
        day = local.date()
        opens = datetime.combine(day, working.start, zone)
        closes = datetime.combine(day, working.end, zone)
        if WEEKDAYS[day.weekday()] in working.days and local < closes:
            begin = max(local, opens)
            if begin + left <= closes:
                return (begin + left).astimezone(start.tzinfo)
            left -= closes - begin
        local = datetime.combine(day + timedelta(days=1), time(0), zone)
    raise ValueError("deadline lies more than eight years of working days away")
