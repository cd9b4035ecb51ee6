"""Sessions of every kind: the record, the manager and its Store (shared, kind-agnostic)."""

from .manager import SAVE_DELAY, SessionManager
from .record import ActorRef, Measure, MeasureLoader, Session
from .store import LEGACY_SESSION_KIND, STORAGE_VERSION

__all__ = [
    "LEGACY_SESSION_KIND",
    "SAVE_DELAY",
    "STORAGE_VERSION",
    "ActorRef",
    "Measure",
    "MeasureLoader",
    "Session",
    "SessionManager",
]
