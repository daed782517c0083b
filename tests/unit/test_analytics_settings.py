"""The analytics settings file: defaults built in, every problem named with its key at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgy_metrics.analytics.settings import (
    DEFAULT_WEIGHTS,
    TIER_PRESETS,
    AnalyticsSettings,
    AnalyticsSettingsError,
    load_settings,
)

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "analytics.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(AnalyticsSettingsError) as caught:
        load_settings(path)
    assert str(path) in str(caught.value)
    return caught.value.problems


def test_defaults_without_a_file() -> None:
    settings = load_settings(None)
    assert settings == AnalyticsSettings()
    assert settings.weights == DEFAULT_WEIGHTS
    assert settings.tiers.preset == "pugongying"
    assert settings.tiers.follower_bands() == TIER_PRESETS["pugongying"]["followers"]
    assert settings.flags.thin_sample_notes == 10
    assert settings.flags.outlier_iqr_multiplier == 3.0


def test_weights_replace_the_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[weights]
click_through = 2
engagement_rate = 1.5
paid_boost_dependence = 0

[score]
min_indicators = 2
""",
    )
    settings = load_settings(path)
    assert settings.weights == {
        "click_through": 2,
        "engagement_rate": 1.5,
        "paid_boost_dependence": 0,
    }
    assert list(settings.weighted) == ["click_through", "engagement_rate"]  # weight 0 is out
    assert settings.score.min_indicators == 2


def test_custom_bands_and_thresholds(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[tiers]
followers = [{name = "small", min = 0, label_zh = "小"}, {name = "large", min = 50000}]
read_median = [{name = "small", min = 0}, {name = "large", min = 3000}]

[flags]
thin_sample_notes = 5
paid_boost_heavy_above = 0.7
""",
    )
    settings = load_settings(path)
    assert [band.name for band in settings.tiers.follower_bands()] == ["small", "large"]
    assert settings.tiers.read_median_bands()[1].min == 3000
    assert settings.tiers.source == "custom"
    assert settings.flags.thin_sample_notes == 5
    assert settings.flags.paid_boost_heavy_above == 0.7
    assert settings.flags.sponsored_collapse_below == 0.5  # untouched: the default


def test_every_problem_is_named_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
colour = "blue"
[weights]
clik_through = 1
[tiers]
preset = "huge"
[flags]
thin_sample_notes = 0
paid_boost_heavy_above = "high"
colour = 1
""",
    )
    problems = problems_of(path)
    assert len(problems) == 6, problems
    text = "\n".join(problems)
    assert "colour: not a setting; allowed: weights, score, tiers, flags" in text
    assert "weights: not an indicator: clik_through; allowed: " in text
    assert "click_through" in text.split("weights:", 1)[1]
    assert "tiers.preset: Input should be 'pugongying' or 'coarse'; got 'huge'" in text
    assert "flags.thin_sample_notes: Input should be greater than or equal to 1; got 0" in text
    assert "flags.paid_boost_heavy_above: " in text
    assert "flags.colour: not a setting; allowed: thin_sample_notes, " in text


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        (
            'followers = [{name = "a", min = 0}]',
            "give both followers and read_median",
        ),
        (
            'followers = [{name = "a", min = 5}]\nread_median = [{name = "a", min = 0}]',
            "followers: the first band must start at min = 0 (got 5)",
        ),
        (
            'followers = [{name = "a", min = 0}, {name = "b", min = 0}]\n'
            'read_median = [{name = "a", min = 0}, {name = "b", min = 9}]',
            "followers: min must strictly increase",
        ),
        (
            'followers = [{name = "a", min = 0}, {name = "a", min = 9}]\n'
            'read_median = [{name = "a", min = 0}, {name = "a", min = 9}]',
            "band names must be unique; repeated: a",
        ),
        (
            'followers = [{name = "a", min = 0}, {name = "b", min = 9}]\n'
            'read_median = [{name = "a", min = 0}, {name = "c", min = 9}]',
            "must name the same tiers in the same order; got a, b vs a, c",
        ),
        (
            'followers = [{name = "a", min = 0, max = 9}]\nread_median = [{name = "a", min = 0}]',
            "tiers.followers.0.max: not a setting; allowed: name, min, label_zh",
        ),
    ],
)
def test_band_problems(tmp_path: Path, tiers: str, message: str) -> None:
    problems = problems_of(write(tmp_path, f"[tiers]\n{tiers}\n"))
    assert any(message in problem for problem in problems), problems


def test_weights_must_leave_a_score_possible(tmp_path: Path) -> None:
    negative = problems_of(write(tmp_path, "[weights]\nclick_through = -1\n"))
    assert any("weights must be >= 0; negative: click_through" in p for p in negative)
    zero = problems_of(write(tmp_path, "[weights]\nclick_through = 0\n"))
    assert any("at least one weight must be > 0" in p for p in zero)
    unreachable = problems_of(
        write(tmp_path, "[weights]\nclick_through = 1\n[score]\nmin_indicators = 2\n")
    )
    assert any("score.min_indicators is 2 but only 1 indicator(s)" in p for p in unreachable)


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    assert problems_of(tmp_path / "missing.toml") == [
        "cannot read the file: No such file or directory"
    ]
    (problem,) = problems_of(write(tmp_path, "[weights\n"))
    assert problem.startswith("not valid TOML: ")


def test_documented_example_file_loads(tmp_path: Path) -> None:
    """The full example TOML in docs/benchmarking.md is valid and matches the defaults."""
    text = (ROOT / "docs" / "benchmarking.md").read_text(encoding="utf-8")
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    assert load_settings(write(tmp_path, example)) == AnalyticsSettings()
