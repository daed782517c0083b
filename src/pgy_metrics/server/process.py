"""uvicorn's server as ``pgy serve`` runs it: a SIGTERM that stopped it cleanly exits 0."""

from __future__ import annotations

import signal
from types import FrameType

import uvicorn


class GracefulServer(uvicorn.Server):
    """uvicorn re-raises the signals it caught once its graceful shutdown is over, so a server
    stopped by SIGTERM ends "killed by signal 15" even when every request finished and nothing
    was lost; systemd and Kubernetes then report a clean stop (every deploy) as a failure. A
    SIGTERM asks the server to stop: once it has (requests finished within
    ``PGY_SHUTDOWN_GRACE_SECONDS``, the rest cancelled and released), the exit status is 0.
    Ctrl-C (SIGINT) is left as uvicorn treats it."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if sig == signal.SIGTERM and sig in self._captured_signals:
            self._captured_signals.remove(sig)
