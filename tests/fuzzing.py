"""Settings shared by the fuzz tests (``tests/unit/test_fuzz_*.py``, ``tests/integration``).

Every run is deterministic (``derandomize``: the same examples each time, so CI never flakes on
a new one and a failure reproduces), without a deadline (a loaded CI machine is slow, not wrong)
and without Hypothesis's example database (nothing written into the checkout). A bug found is
pinned with ``@example(...)`` beside the test that found it.

``PGY_FUZZ_EXAMPLES=N`` raises every test's number of examples to at least N, and
``PGY_FUZZ_SEED=S`` explores other examples than CI's (``docs/development.md``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings

T = TypeVar("T")
E = TypeVar("E", bound=BaseException)

EXAMPLES_VARIABLE = "PGY_FUZZ_EXAMPLES"
SEED_VARIABLE = "PGY_FUZZ_SEED"


def fuzz(max_examples: int) -> Any:
    """``@settings`` for a fuzz test: ``max_examples`` in CI, more with ``PGY_FUZZ_EXAMPLES``."""
    wanted = int(os.environ.get(EXAMPLES_VARIABLE) or 0)
    seeded = os.environ.get(SEED_VARIABLE)
    return settings(
        max_examples=max(max_examples, wanted),
        derandomize=seeded is None,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        print_blob=False,
    )


def seeded(test: Any) -> Any:
    """Apply ``PGY_FUZZ_SEED`` when set (else the derandomized examples of ``fuzz``)."""
    from hypothesis import seed

    value = os.environ.get(SEED_VARIABLE)
    return seed(int(value))(test) if value else test


def outcome(call: Callable[[], T], refusal: type[E]) -> tuple[T, None] | tuple[None, E]:
    """``(result, None)`` or ``(None, error)`` when ``call`` raises ``refusal``: a fuzz test
    checks either, and anything else propagates (the bug it looks for)."""
    try:
        return call(), None
    except refusal as error:
        return None, error
