"""Local store (SQLite, WAL): calls and turns, with versioned migrations."""

from .db import Store, StoreError, TurnRecord

__all__ = ["Store", "StoreError", "TurnRecord"]
