"""Fuzzed input files through the commands people run: ``pgy batch FILE``, ``pgy plan
CANDIDATES [--rules RULES]`` and ``pgy config check FILE``. A file with no usable creator, a
damaged one or a refused TOML file ends the command with exit 2 and a message naming the file,
never a traceback.

Generated files go through the CLI in process (typer's runner, 20 examples each: the library
functions get hundreds in ``tests/unit/test_fuzz_*.py``); the bugs found go through the real
``pgy`` process too, as a user runs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from pgy_metrics.cli.main import app
from tests.fuzzing import fuzz, seeded
from tests.integration.servers import pgy, pgy_env
from tests.unit.test_fuzz_sheets import GOOD_XLSX, _damaged, files
from tests.unit.test_fuzz_toml import RULES_KEYS, SETTINGS_KEYS, documents, raw_files

NOT_AN_ID = "5d21ab6b00000000120156zz"
"""Where the generated files would hold an id: then no file has a usable creator."""
USAGE_EXIT = 2


def _run(folder: Path, *args: str) -> Any:
    env = {"PGY_DATA_DIR": str(folder / "data"), "NO_COLOR": "1", "COLUMNS": "200"}
    return CliRunner().invoke(app, list(args), env=env)


def _refused_naming(result: Any, *paths: Path) -> None:
    assert result.exit_code == USAGE_EXIT, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    assert any(path.name in result.output for path in paths), result.output
    assert "Traceback" not in result.output


def _write(folder: Path, file: tuple[str, bytes]) -> Path:
    name, data = file
    path = folder / name
    path.write_bytes(data)
    return path


@seeded
@fuzz(20)
@given(file=files(user_id=NOT_AN_ID))
def test_pgy_batch_refuses_any_unusable_file_with_exit_2(
    tmp_path_factory: Any, file: tuple[str, bytes]
) -> None:
    folder = tmp_path_factory.mktemp("batch")
    path = _write(folder, file)
    result = _run(
        folder, "batch", str(path), "--token", "t", "--base-url", "http://127.0.0.1:9",
        "--out", str(folder / "out.csv"),
    )  # fmt: skip
    _refused_naming(result, path)


@seeded
@fuzz(20)
@given(file=files(user_id=NOT_AN_ID).filter(lambda f: not f[0].endswith(".txt")), rules=st.data())
def test_pgy_plan_refuses_any_unusable_candidates_or_rules_with_exit_2(
    tmp_path_factory: Any, file: tuple[str, bytes], rules: st.DataObject
) -> None:
    folder = tmp_path_factory.mktemp("plan")
    candidates = _write(folder, file)
    rules_path = folder / "rules.toml"
    text = rules.draw(st.one_of(documents(RULES_KEYS).map(str.encode), raw_files))
    rules_path.write_bytes(text)
    result = _run(
        folder, "plan", str(candidates), "--budget", "1000", "--rules", str(rules_path),
        "--out", str(folder / "plan"),
    )  # fmt: skip
    _refused_naming(result, candidates, rules_path)


@seeded
@fuzz(20)
@given(text=st.one_of(documents(SETTINGS_KEYS).map(str.encode), raw_files))
def test_pgy_config_check_names_the_file_or_accepts_it(tmp_path_factory: Any, text: bytes) -> None:
    folder = tmp_path_factory.mktemp("config")
    path = folder / "pgy.toml"
    path.write_bytes(text)
    result = _run(folder, "config", "check", str(path))
    if result.exit_code == 0:
        assert f"{path.name}: OK" in result.output
        return
    _refused_naming(result, path)


USER_ID = "5d21ab6b000000001201567d"
FOUND = [
    # (command, file name, content): each a bug the fuzzing found, run as a user runs it
    ("batch", "huge.csv", b"user_id\n" + b"a" * 140_000 + b"\n"),
    ("batch", "damaged.xlsx", _damaged(GOOD_XLSX, [(1500, 0)])),
    ("plan", "zip64.xlsx", _damaged(GOOD_XLSX, [(GOOD_XLSX.find(b"PK\x01\x02") + 6, 64)])),
    ("plan-rules", "gbk.toml", "# 规则\nmin_video_share = 0.4\n".encode("gbk")),
    ("config", "deep.toml", b"a = " + b"[" * 5000 + b"]" * 5000),
    ("config", "utf16.toml", "[server]\nport = 8000\n".encode("utf-16")),
]


@pytest.mark.parametrize(("command", "name", "content"), FOUND, ids=[f[1] for f in FOUND])
def test_found_bugs_exit_2_from_the_real_pgy(
    tmp_path: Path, command: str, name: str, content: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    good = tmp_path / "good.csv"
    good.write_text(f"user_id,price_photo\n{USER_ID},100\n", encoding="utf-8")
    args = {
        "batch": ["batch", str(path), "--token", "t", "--base-url", "http://127.0.0.1:9",
                  "--out", str(tmp_path / "out.csv")],
        "plan": ["plan", str(path), "--budget", "1000", "--out", str(tmp_path / "plan")],
        "plan-rules": ["plan", str(good), "--budget", "1000", "--rules", str(path),
                       "--out", str(tmp_path / "plan")],
        "config": ["config", "check", str(path)],
    }[command]  # fmt: skip
    result = pgy(*args, env=pgy_env(tmp_path / "data"), check=False)
    assert result.returncode == USAGE_EXIT, (result.returncode, result.stdout, result.stderr)
    assert name in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
