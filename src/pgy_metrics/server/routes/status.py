"""``GET /status`` (JSON) and ``GET /status.html`` (a page a person reads): upstream health.

Labels as the hosted API's docs page shows them, over the last ``PGY_HEALTH_WINDOW_MINUTES``:
Healthy >= 97.5 %, Available >= 90 %, Limited >= 65 %, Mostly unavailable below, No data under
10 calls. Only upstream outcomes count. Nothing here can hold a secret: subjects are endpoint,
source and account *names*, reasons are short classes, never cookies or tokens.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, JSONResponse

from pgy_metrics.service.health import MIN_CALLS, THRESHOLDS, Health, Label
from pgy_metrics.sources.base import AccountStatus

if TYPE_CHECKING:
    from pgy_metrics.service.runtime import Runtime

router = APIRouter()

COLOURS = {
    Label.HEALTHY: "#1a7f37",
    Label.AVAILABLE: "#4d8f00",
    Label.LIMITED: "#b35900",
    Label.MOSTLY_UNAVAILABLE: "#b42318",
    Label.NO_DATA: "#6b7280",
}


async def _report(runtime: Runtime) -> dict[str, Any]:
    healths = await runtime.health.current()
    zone = runtime.settings.zone
    return {
        "window_minutes": runtime.settings.health_window_minutes,
        "thresholds": {label.value: threshold for threshold, label in THRESHOLDS},
        "min_calls": MIN_CALLS,
        "subjects": [_health_json(h, zone) for h in healths],
        "accounts": [_account_json(a) for a in await cluster_account_states(runtime)],
        "account_pool": account_pool_state(runtime),
        "account_webhook": await account_webhook_state(runtime),
    }


async def account_webhook_state(runtime: Runtime) -> dict[str, Any] | None:
    """The account webhook: its host (never its path, which may hold its key) and the last
    delivery in the deployment; None when ``PGY_ACCOUNT_WEBHOOK_URL`` is unset."""
    webhook = runtime.account_webhook
    if webhook is None:
        return None
    return {"host": webhook.host, "last": await webhook.last()}


def _health_json(health: Health, zone: tzinfo) -> dict[str, Any]:
    return {
        "subject": health.subject,
        "label": health.label.value,
        "ratio": round(health.ratio, 4) if health.ratio is not None else None,
        "ok": health.ok,
        "failed": health.failed,
        "changed_at": health.changed_at.astimezone(zone).isoformat(timespec="seconds"),
    }


def account_states(runtime: Runtime) -> list[AccountStatus]:
    """Account states of every source that has accounts (directly or behind failover)."""
    source: Any = runtime.service.source
    members = getattr(source, "sources", [source])
    states: list[AccountStatus] = []
    for member in members:
        accounts = getattr(member, "accounts", None)
        if callable(accounts):
            states.extend(accounts())
    return states


async def cluster_account_states(runtime: Runtime) -> list[AccountStatus]:
    """``account_states``, read anew from the cluster's shared pool where there is one."""
    source: Any = runtime.service.source
    states: list[AccountStatus] = []
    for member in getattr(source, "sources", [source]):
        cluster = getattr(member, "cluster_accounts", None)
        if callable(cluster):
            states.extend(await cluster())
        elif callable(accounts := getattr(member, "accounts", None)):
            states.extend(accounts())
    return states


def account_pool_state(runtime: Runtime) -> str | None:
    """Where account pools keep their state: ``local``, ``shared`` or ``unreachable`` (the
    shared one cannot be read: collection paused); None without accounts."""
    source: Any = runtime.service.source
    found = [getattr(member, "pool_state", None) for member in getattr(source, "sources", [source])]
    found = [state for state in found if state is not None]
    if not found:
        return None
    return "unreachable" if "unreachable" in found else found[0]


def _account_json(status: AccountStatus) -> dict[str, Any]:
    until = status.cooling_until
    return {
        "source": status.source,
        "account": status.account,
        "state": status.state.value,
        "reason": status.reason,
        "in_flight": status.in_flight,
        "cooling_until": (
            datetime.fromtimestamp(until, UTC).isoformat(timespec="seconds") if until else None
        ),
        "last_failure": status.last_failure,
    }


def _webhook_html(webhook: dict[str, Any] | None) -> str:
    if webhook is None:
        return ""
    last = webhook["last"]
    if last is None:
        told = "no incident yet"
    else:
        outcome = "delivered" if last["delivered"] else f"not delivered ({last['error']})"
        told = f"last: {last['account']} {last['label']} at {last['at']}, {outcome}"
    return f"<p>Account webhook {html.escape(webhook['host'])}: {html.escape(told)}</p>"


_ROW = (
    "<tr><td>{subject}</td><td><span class='label' style='background:{colour}'>{label}</span>"
    "</td><td>{ratio}</td><td>{ok}</td><td>{failed}</td><td>{changed}</td></tr>"
)


def _row(item: dict[str, Any]) -> str:
    return _ROW.format(
        subject=html.escape(item["subject"]),
        colour=COLOURS[Label(item["label"])],
        label=html.escape(item["label"]),
        ratio="–" if item["ratio"] is None else f"{item['ratio'] * 100:.1f} %",
        ok=item["ok"],
        failed=item["failed"],
        changed=html.escape(item["changed_at"]),
    )


_NULLABLE_STRING = {"type": ["string", "null"]}

STATUS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["window_minutes", "thresholds", "min_calls", "subjects", "accounts"],
    "properties": {
        "window_minutes": {"type": "integer"},
        "thresholds": {
            "type": "object",
            "description": "The lowest success ratio (0-1) of each label.",
            "additionalProperties": {"type": "number"},
        },
        "min_calls": {"type": "integer", "description": "Fewer upstream calls: No data."},
        "subjects": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["subject", "label", "ratio", "ok", "failed", "changed_at"],
                "properties": {
                    "subject": {"type": "string", "description": "endpoint, source or account"},
                    "label": {"type": "string", "enum": [label.value for label in Label]},
                    "ratio": {"type": ["number", "null"]},
                    "ok": {"type": "integer"},
                    "failed": {"type": "integer"},
                    "changed_at": {"type": "string", "description": "When the label changed."},
                },
            },
        },
        "accounts": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["source", "account", "state", "in_flight"],
                "properties": {
                    "source": {"type": "string"},
                    "account": {"type": "string"},
                    "state": {"type": "string"},
                    "reason": _NULLABLE_STRING,
                    "in_flight": {"type": "integer"},
                    "cooling_until": _NULLABLE_STRING,
                    "last_failure": _NULLABLE_STRING,
                },
            },
        },
        "account_pool": {
            "type": ["string", "null"],
            "enum": ["local", "shared", "unreachable", None],
            "description": "Where account pools keep their state; null without accounts.",
        },
        "account_webhook": {
            "type": ["object", "null"],
            "description": "The account webhook (PGY_ACCOUNT_WEBHOOK_URL), null when unset: "
            "its scheme and host, and the last incident delivered (or not) in the deployment.",
            "required": ["host", "last"],
            "properties": {
                "host": {"type": "string"},
                "last": {
                    "type": ["object", "null"],
                    "required": ["account", "label", "at", "delivered", "attempts"],
                    "properties": {
                        "source": {"type": "string"},
                        "account": {"type": "string"},
                        "label": {"type": "string", "enum": ["session_lost", "risk_control"]},
                        "at": {"type": "string", "description": "When the incident was seen."},
                        "delivered": {"type": "boolean"},
                        "attempts": {"type": "integer"},
                        "error": _NULLABLE_STRING,
                    },
                },
            },
        },
    },
}
"""What ``GET /status`` answers (documented in OpenAPI; nothing in it can hold a secret)."""


@router.get(
    "/status",
    summary="Upstream health (JSON)",
    tags=["status"],
    response_class=JSONResponse,
    responses={200: {"content": {"application/json": {"schema": STATUS_SCHEMA}}}},
)
async def status_json(request: Request) -> JSONResponse:
    return JSONResponse(await _report(request.app.state.runtime))


@router.get(
    "/status.html",
    summary="Upstream health (a page)",
    tags=["status"],
    response_class=HTMLResponse,
    responses={200: {"description": "The status page (HTML)."}},
)
async def status_html(request: Request) -> HTMLResponse:
    runtime: Runtime = request.app.state.runtime
    report = await _report(runtime)
    rows = "".join(_row(item) for item in report["subjects"]) or (
        "<tr><td colspan='6'>No upstream call yet in this window.</td></tr>"
    )
    accounts = "".join(
        f"<tr><td>{html.escape(a['source'])}</td><td>{html.escape(a['account'])}</td>"
        f"<td>{html.escape(a['state'])}</td><td>{html.escape(a['reason'] or '')}</td>"
        f"<td>{a['in_flight']}</td><td>{html.escape(a['cooling_until'] or '')}</td>"
        f"<td>{html.escape(a['last_failure'] or '')}</td></tr>"
        for a in report["accounts"]
    )
    legend = "".join(
        f"<li><span class='label' style='background:{COLOURS[label]}'>{label.value}</span> "
        f"{text}</li>"
        for label, text in (
            (Label.HEALTHY, "at least 97.5 % of upstream calls succeeded"),
            (Label.AVAILABLE, "at least 90 %"),
            (Label.LIMITED, "at least 65 %"),
            (Label.MOSTLY_UNAVAILABLE, "below 65 %"),
            (Label.NO_DATA, f"fewer than {MIN_CALLS} upstream calls in the window"),
        )
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>pgy-metrics status</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #111; }}
table {{ border-collapse: collapse; width: 100%; margin-bottom: 2rem; }}
th, td {{ text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #ddd; }}
.label {{ color: #fff; border-radius: .3rem; padding: .1rem .5rem; font-size: .9rem; }}
</style></head><body>
<h1>pgy-metrics status</h1>
<p>Upstream health over the last {report["window_minutes"]} minutes. Only upstream outcomes
count: not a caller's invalid request or insufficient balance, not a cached answer.</p>
<table><thead><tr><th>endpoint / source / account</th><th>label</th><th>success</th>
<th>ok</th><th>failed</th><th>label since</th></tr></thead><tbody>{rows}</tbody></table>
{
        "<h2>Accounts</h2><table><thead><tr><th>source</th><th>account</th><th>state</th>"
        "<th>reason</th><th>in flight</th><th>cooling until</th><th>last failure</th></tr>"
        "</thead><tbody>" + accounts + "</tbody></table>"
        f"<p>Account pool: {html.escape(report['account_pool'] or 'local')}</p>"
        + _webhook_html(report["account_webhook"])
        if accounts
        else ""
    }
<h2>Labels</h2><ul>{legend}</ul>
</body></html>"""
    return HTMLResponse(page)
