"""The reference an assistant can cite, generated from the registry and the codes, not copied.

The installed wheel has no ``docs/`` folder, and a copy of docs/api.md inside the package would
drift from it; the endpoint registry (``contract.endpoints``) and ``BusinessCode`` are what the
server itself obeys, so the text is written from them at start-up.
"""

from __future__ import annotations

from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.endpoints import EndpointSpec, Registry


def endpoint_markdown(spec: EndpointSpec) -> str:
    """One endpoint: what it answers, its path and its parameters with every allowed value."""
    lines = [
        f"# {spec.title} ({spec.title_zh}): `{spec.name}`",
        "",
        spec.summary,
        "",
        spec.summary_zh,
        "",
        f"`GET {spec.path}?token=...&userId=...`: one billable call per successful answer "
        f"(code 0); a snapshot answers the same creator and parameters for "
        f"{spec.ttl_seconds // 3600} h.",
        "",
        "| parameter | values | default | meaning |",
        "|---|---|---|---|",
        "| `userId` | the creator's Xiaohongshu user id (24 hex characters) | required | |",
    ]
    for param in spec.params:
        values = ", ".join(
            f"`{value.value}` ({getattr(value, 'label', value.value)})" for value in param.values
        )
        lines.append(
            f"| `{param.name}` | {values} | `{param.default.value}` | {param.description} "
            f"{param.description_zh} |"
        )
    return "\n".join(lines) + "\n"


def endpoints_markdown(registry: Registry) -> str:
    """Every registered endpoint, in registration order."""
    parts = [
        "# Endpoints of the pgy-metrics API",
        "",
        "Every answer is HTTP 200 with an envelope `{code, message, data, recordTime}`; the "
        "business code decides (resource `pgy://codes`). Full reference: docs/api.md and "
        "docs/contract.md of the pgy-metrics repository.",
        "",
    ]
    parts.extend(endpoint_markdown(spec) for spec in registry.specs())
    return "\n".join(parts)


def codes_markdown() -> str:
    """The business codes: what each means and whether it is billed."""
    lines = [
        "# Business codes",
        "",
        "| code | name | billed | meaning |",
        "|---|---|---|---|",
    ]
    for code in BusinessCode:
        meaning = code.default_message or "Success: `data` holds the answer."
        lines.append(
            f"| {code.value} | {code.name} | {'yes' if code.billed else 'no'} | {meaning} |"
        )
    return "\n".join(lines) + "\n"
