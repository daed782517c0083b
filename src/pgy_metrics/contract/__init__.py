"""The wire contract of the Note Performance Metrics API as pure data (no I/O).

Everything else imports this package; nothing here imports anything of ours.
"""

from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.endpoints import NOTES_RATE_PATH
from pgy_metrics.contract.enums import AdvertiseSwitch, Business, DateType, NoteType
from pgy_metrics.contract.envelope import Envelope
from pgy_metrics.contract.models import NotesRateData
from pgy_metrics.contract.params import USER_ID_EXAMPLE, ParamError, Scope, parse_user_id

__all__ = [
    "NOTES_RATE_PATH",
    "USER_ID_EXAMPLE",
    "AdvertiseSwitch",
    "Business",
    "BusinessCode",
    "DateType",
    "Envelope",
    "NoteType",
    "NotesRateData",
    "ParamError",
    "Scope",
    "parse_user_id",
]
