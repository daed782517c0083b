"""Small pieces of ``pgy report`` / ``pgy plan`` that users see: source labels and plan bases."""

from __future__ import annotations

import pytest

from pgy_metrics.cli.analysis import _basis, _shown


@pytest.mark.parametrize(
    ("target", "shown"),
    [
        (
            "postgresql+psycopg://pgy:s3cret@db.internal/pgy",
            "postgresql+psycopg://pgy:***@db.internal/pgy",
        ),
        ("sqlite+aiosqlite:////data/pgy.db", "sqlite+aiosqlite:////data/pgy.db"),
        ("pool.jsonl", "pool.jsonl"),
    ],
)
def test_a_database_url_is_shown_without_its_credentials(target: str, shown: str) -> None:
    assert _shown(target) == shown
    assert "s3cret" not in _shown(target)


@pytest.mark.parametrize(
    ("scope_key", "label"),
    [
        ("COOPERATE_NOTE.VIDEO.DAY_90.ALL", "sponsored 90d"),
        ("DAILY_NOTE.PHOTO_TEXT.DAY_30.ALL", "daily 30d"),
        ("", ""),
    ],
)
def test_a_plan_basis_is_named_for_people(scope_key: str, label: str) -> None:
    assert _basis(scope_key) == label
