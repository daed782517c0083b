"""Fuzzed TOML files: the planner's rules (``candidates.load_rules``), the server's settings file
(``service.config.load``) and the analytics settings (``analytics.settings.load_settings``).

Any text (TOML-like, with the files' own keys and wrong values, or any bytes at all) is read or
refused with one error that names the file and says where (the key, or the line for text that
is not TOML); never another exception. ``pgy plan --rules`` and ``pgy config check`` exit 2 on
them: ``tests/integration/test_fuzz_cli.py``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from pgy_metrics.analytics.candidates import RULE_KEYS, RulesError, load_rules
from pgy_metrics.analytics.settings import AnalyticsSettingsError, load_settings
from pgy_metrics.service.config import ConfigError, load
from pgy_metrics.service.settings import Settings
from tests.fuzzing import fuzz, seeded

USER_ID = "5d21ab6b000000001201567d"


def _toml_value(value: Any) -> str:
    """A TOML literal (inline tables and arrays) of a generated value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int | str):
        return json.dumps(value) if isinstance(value, str) else str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"


scalars = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from([USER_ID, "0.5", "", "paid_boost_heavy", "macro", "objective", "sandbox"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)

RULES_KEYS = [*RULE_KEYS, "audience.mode", "audience.weight", "audience.gender"]
ANALYTICS_KEYS = [
    "weights.engagement_rate_median",
    "weights.click_through",
    "score.min_indicators",
    "tiers.preset",
    "tiers.followers",
    "tiers.read_median",
    "flags.thin_sample_notes",
]
SETTINGS_KEYS = [
    *(f"server.{name}" for name in Settings.model_fields),
    "failover.cooldown_seconds",
    "sources",
]


@st.composite
def documents(draw: Any, keys: list[str]) -> str:
    """TOML text: ``key = value`` lines under tables, with a line of junk now and then."""
    lines: list[str] = []
    for _ in range(draw(st.integers(0, 6))):
        key = draw(st.one_of(st.sampled_from(keys), st.text(min_size=1, max_size=10)))
        table, _, name = key.rpartition(".")
        if key == "sources":
            lines.append("[[sources]]")
            lines.append(f"type = {_toml_value(draw(scalars))}")
            continue
        if table:
            lines.append(f"[{json.dumps(table)}]")
        lines.append(f"{json.dumps(name)} = {_toml_value(draw(values))}")
        if draw(st.integers(0, 9)) == 0:
            lines.append(draw(st.text(max_size=20)))
    return "\n".join(lines) + "\n"


raw_files = st.one_of(
    st.binary(max_size=200),
    st.integers(1, 5000).map(lambda n: b"a = " + b"[" * n + b"]" * n),
    st.sampled_from(
        [
            "# 规则\nmin_video_share = 0.4\n".encode("gbk"),
            "min_video_share = 0.4\n".encode("utf-16"),
            b"\xef\xbb\xbfmin_video_share = 0.4\n",
            b"min_video_share = 0.4\x00\n",
        ]
    ),
)


def _refused(path: Path, read: Any, error_type: type[Exception]) -> str | None:
    try:
        read(path)
    except error_type as error:
        message = str(error)
        assert path.name in message, message
        assert "Traceback" not in message
        return message
    return None


@seeded
@fuzz(200)
@given(text=documents(RULES_KEYS))
@example(text="[tier_spend_share]\nmacro = [nan, 1]\nmicro = [1]\n")
def test_any_rules_document_is_rules_or_names_the_key(tmp_path_factory: Any, text: str) -> None:
    path = tmp_path_factory.mktemp("rules") / "rules.toml"
    path.write_text(text, encoding="utf-8")
    message = _refused(path, load_rules, RulesError)
    if message is not None and "is not valid TOML" not in message:
        # a refused key is named: one of the file's keys, or "unknown key"
        assert any(key in message for key in [*RULE_KEYS, "unknown key"]), message


@seeded
@fuzz(200)
@given(text=documents(SETTINGS_KEYS))
@example(text="[server]\nport = 'x'\n[[sources]]\ntype = 5\n[failover]\ncooldown_seconds = nan\n")
@example(text='"" = 1\n[server]\n"a b" = 2\n')  # found: the empty key was named as nothing
def test_any_settings_document_is_settings_or_names_the_key(
    tmp_path_factory: Any, text: str
) -> None:
    path = tmp_path_factory.mktemp("settings") / "pgy.toml"
    path.write_text(text, encoding="utf-8")
    message = _refused(path, load, ConfigError)
    if message is not None and "not valid TOML" not in message:
        for line in message.split("\n")[1:]:
            where, said, _ = line.removeprefix("  - ").partition(": ")
            assert where.strip() and said, line  # every problem says where it is


@seeded
@fuzz(200)
@given(text=documents(ANALYTICS_KEYS))
@example(text='[tiers]\nfollowers = [{name = "small", min = nan}, 3]\n')
# found: keys "" and "\u0085" (a line break to str.splitlines) were shown bare: "  - : not a..."
@example(text='"\\u0085" = false\n"" = 1\n[weights]\n"" = 1\n[score]\n"" = 2\n')
def test_any_analytics_settings_document_is_settings_or_names_the_key(
    tmp_path_factory: Any, text: str
) -> None:
    path = tmp_path_factory.mktemp("analytics") / "analytics.toml"
    path.write_text(text, encoding="utf-8")
    message = _refused(path, load_settings, AnalyticsSettingsError)
    if message is not None and "not valid TOML" not in message:
        for line in message.split("\n")[1:]:
            where, said, _ = line.removeprefix("  - ").partition(": ")
            assert where.strip() and said, line


@seeded
@fuzz(200)
@given(data=raw_files)
@example(data="# 规则\nmin_video_share = 0.4\n".encode("gbk"))  # found: UnicodeDecodeError
@example(data=b"a = " + b"[" * 5000 + b"]" * 5000)  # found: RecursionError from tomllib
def test_any_bytes_in_a_toml_file_name_the_file(tmp_path_factory: Any, data: bytes) -> None:
    folder = tmp_path_factory.mktemp("toml")
    for name, read, error_type in (
        ("rules.toml", load_rules, RulesError),
        ("pgy.toml", load, ConfigError),
        ("analytics.toml", load_settings, AnalyticsSettingsError),
    ):
        path = folder / name
        path.write_bytes(data)
        _refused(path, read, error_type)


def test_text_that_is_not_utf8_names_its_line(tmp_path: Path) -> None:
    data = "min_video_share = 0.4\n# 规则\n".encode("gbk")
    for name, read, error_type in (
        ("rules.toml", load_rules, RulesError),
        ("pgy.toml", load, ConfigError),
        ("analytics.toml", load_settings, AnalyticsSettingsError),
    ):
        path = tmp_path / name
        path.write_bytes(data)
        message = _refused(path, read, error_type)
        assert message is not None and "line 2" in message and "not UTF-8" in message, message
