"""Paths of the endpoints the contract defines."""

NOTES_RATE_PATH = "/api/xiaohongshu-pgy/api/solar/kol/dataV3/notesRate/v1"
"""The one endpoint of the hosted API that this project implements, byte for byte."""

UPSTREAM_NOTES_RATE_PATH = "/api/solar/kol/dataV3/notesRate"
"""The Pugongying path the data originally comes from."""

NOTES_RATE = "notes_rate"
"""The endpoint's name in plans, prices and the ledger."""

ENDPOINTS: dict[str, str] = {NOTES_RATE: NOTES_RATE_PATH}
"""Every endpoint by name: what a token's plan may allow."""
