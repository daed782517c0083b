"""The typed outputs (and structured inputs) of the tools: pydantic models, so every tool
publishes a JSON schema of what it returns and an assistant reads fields, not prose."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from pgy_metrics.figures import FigureKind, format_figure


class Figure(BaseModel):
    """One number with its unit and as a person would read it."""

    name: str
    value: float | int | str | None
    unit: str = Field(description="count, fraction (0-1), relative change, ratio, score or text")
    text: str = Field(description="The value as written for a person (pgy_metrics.figures)")


UNITS: dict[FigureKind, str] = {
    FigureKind.INTEGER: "count",
    FigureKind.FRACTION: "fraction (0-1)",
    FigureKind.CHANGE: "relative change",
    FigureKind.MONEY: "money",
    FigureKind.NUMBER: "ratio",
    FigureKind.TEXT: "text",
}


def figure(name: str, value: Any, kind: FigureKind, *, unit: str | None = None) -> Figure:
    """A ``Figure`` whose text follows the project's one rule of writing numbers."""
    if isinstance(value, float) and value != value:  # NaN: missing, never 0
        value = None
    return Figure(name=name, value=value, unit=unit or UNITS[kind], text=format_figure(value, kind))


class Billing(BaseModel):
    """What a tool call cost against the session budget."""

    calls_needed: int = Field(description="Calls the tool asked for (reserved before calling)")
    billable_calls: int = Field(
        description="Calls counted as billed (code 0 and charged: not a replay, not free)"
    )
    session_used: int
    session_remaining: int | None = Field(description="None: no --max-billable-calls limit")


class EndpointAnswer(BaseModel):
    """A successful answer of one endpoint, ``data`` exactly as the server sent it."""

    endpoint: str
    user_id: str
    params: dict[str, str] = Field(description="Every parameter sent (defaults applied)")
    request_id: str | None
    record_time: str | None = Field(description="When the data was collected upstream")
    source: str | None = Field(description="Where the server got it (sandbox = synthetic)")
    synthetic: bool
    data: dict[str, Any]
    billing: Billing


class ScopeSummary(BaseModel):
    """The headline figures of one scope of a creator."""

    scope_key: str
    scope_label: str
    figures: list[Figure]


class CreatorOverview(BaseModel):
    """One creator across the analysis scopes, summarised with units."""

    user_id: str
    synthetic: bool | None = Field(description="True when the data is made up (sandbox)")
    tier: str | None
    score: Figure
    indicators: list[Figure] = Field(description="Indicators of the headline scope")
    flags: list[str] = Field(description="Risk flags raised for this creator")
    scopes: list[ScopeSummary]
    billing: Billing


class ComparedCreator(BaseModel):
    """One creator of a comparison: indicators with their percentile within the group."""

    user_id: str
    tier: str | None
    score: Figure
    indicators: list[Figure]
    percentiles: list[Figure] = Field(description="Percentile of each indicator in this group")


class Comparison(BaseModel):
    """Creators side by side, best score first."""

    synthetic: bool | None
    creators: list[ComparedCreator]
    billing: Billing


class BenchmarkRow(BaseModel):
    user_id: str
    tier: str | None
    content_tag: str | None
    score: Figure
    read_median: Figure
    flag_count: int


class Benchmark(BaseModel):
    """The pool benchmark table (docs/benchmarking.md), best score first."""

    synthetic: bool | None
    creators: int
    skipped: list[str] = Field(description="Lines of the input that were not creator ids")
    rows: list[BenchmarkRow]
    billing: Billing


class Candidate(BaseModel):
    """A creator the campaign may book, with their prices (at least one, unless the plan reads
    them from the creator profile: ``plan_campaign(marketplace=true)``)."""

    user_id: str
    price_photo: float | None = Field(default=None, ge=0)
    price_video: float | None = Field(default=None, ge=0)
    followers: int | None = Field(default=None, ge=0)
    tier: str | None = None
    content_tag: str | None = None


class Booking(BaseModel):
    user_id: str
    format: str
    tier: str | None
    price: Figure
    expected: Figure
    robust: Figure


class CampaignPlanResult(BaseModel):
    """The optimal plan, and its gain over booking greedily by value per price."""

    objective: str
    synthetic: bool | None
    status: str
    proven_optimal: bool
    budget: Figure
    spend: Figure
    value: Figure
    robust_value: Figure
    greedy_value: Figure
    improvement_over_greedy: Figure
    bookings: list[Booking]
    notes: list[str]
    excluded: list[str] = Field(default_factory=list)
    """Creators (or one format of a creator) left out, with the reason: not on the
    marketplace, not accepting orders, no price (only with ``marketplace``)."""
    billing: Billing
