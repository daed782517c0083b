"""``python -m pgy_metrics`` is ``pgy``."""

from pgy_metrics.cli.main import main

main()
