"""``pgy accounts reload``: every server and worker re-reads its upstream accounts' cookie files
(after a new login), without a restart (``service.account_reload``).

With ``PGY_REDIS_URL`` the signal reaches every process that shares the Redis; without, the
processes of this machine that share ``PGY_DATA_DIR``. Each re-reads before it next uses an
account. Given ``--config``, the command first reads the file's accounts itself, so that a
cookie file that cannot be used is named here rather than found later in a server's log.
"""

from __future__ import annotations

from pathlib import Path

import typer

from pgy_metrics.cli.common import load_settings
from pgy_metrics.cli.messages import FAILED_EXIT, USAGE_EXIT, fail, say

app = typer.Typer(
    help="Upstream accounts: re-read their cookie files in every process.",
    no_args_is_help=True,
)


@app.command("reload")
def reload(
    config_file: Path | None = typer.Option(
        None,
        "--config",
        envvar="PGY_CONFIG",
        help="Settings file (TOML) the servers use: its cookie files are checked first.",
        show_default="none: PGY_* variables only",
    ),
) -> None:
    """Make every server and worker re-read its accounts' cookie files before it next uses an
    account (a new login takes effect without a restart)."""
    from pgy_metrics.service.account_reload import bump_now
    from pgy_metrics.service.config import ConfigError, settings_from
    from pgy_metrics.service.config import load as load_config
    from pgy_metrics.sources.pool import PoolUnavailable

    if config_file is not None:
        try:
            file_config = load_config(config_file)  # reads (and checks) every cookie file
        except ConfigError as problem:
            raise fail(f"--config {problem}", code=USAGE_EXIT) from None
        settings = settings_from(file_config)
        files = [
            (account.name, account.cookies_file)
            for source in file_config.sources
            for account in getattr(source, "accounts", [])
            if getattr(account, "cookies_file", None) is not None
        ]
        for name, path in files:
            say(f"account {name!r}: {path} holds valid cookies")
    else:
        settings = load_settings()
    try:
        generation, where = bump_now(settings)
    except PoolUnavailable:
        raise fail(
            "cannot reach Redis (PGY_REDIS_URL) to tell the other processes: nothing was "
            "reloaded; retry when Redis is back",
            code=FAILED_EXIT,
        ) from None
    typer.echo(
        f"Reload generation {generation} set in {where}: every process re-reads its cookie "
        "files before it next uses an account."
    )
