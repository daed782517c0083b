"""Analytics: tidy tables, indicators, cohorts, risk flags, the campaign planner and reports.

Reads snapshots (the store, read-only) or exported files; never calls the network. The interfaces
between its modules are pinned in ``docs/analytics-interfaces.md``.
"""
