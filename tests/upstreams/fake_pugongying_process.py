"""``python -m tests.upstreams.fake_pugongying_process PORT LATENCY``: the fake Pugongying in a
process of its own, so that the time it records for each call is not delayed by the load a test
process itself puts on (hundreds of concurrent asks). Read what it received with
``GET /__fake__/requests`` (each with ``at``, epoch seconds, and ``account``)."""

from __future__ import annotations

import sys

import uvicorn

from tests.upstreams.fake_pugongying import FakePugongying


def main() -> None:
    port, latency = int(sys.argv[1]), float(sys.argv[2])
    fake = FakePugongying(latency_seconds=latency)
    uvicorn.run(fake.app, host="127.0.0.1", port=port, access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
