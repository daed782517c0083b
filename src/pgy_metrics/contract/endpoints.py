"""Paths of the endpoints the contract defines."""

NOTES_RATE_PATH = "/api/xiaohongshu-pgy/api/solar/kol/dataV3/notesRate/v1"
"""The one endpoint of the hosted API that this project implements, byte for byte."""

UPSTREAM_NOTES_RATE_PATH = "/api/solar/kol/dataV3/notesRate"
"""The Pugongying path the data originally comes from."""
