"""Schema migrations, applied in order; the database's ``user_version`` is the last one applied.

Never edit a migration that has shipped: add the next one.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: calls and their turns, with the per-stage timings of each turn.
    """
    CREATE TABLE calls (
        id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        end_reason TEXT
    );
    CREATE TABLE turns (
        id INTEGER PRIMARY KEY,
        call_id TEXT NOT NULL REFERENCES calls(id),
        idx INTEGER NOT NULL,
        caller_text TEXT NOT NULL,
        reply_text TEXT NOT NULL,
        eot_reason TEXT NOT NULL,
        speech_start_s REAL,
        speech_end_s REAL,
        eot_s REAL,
        stt_done_s REAL,
        reply_ready_s REAL,
        first_audio_s REAL,
        first_frame_s REAL,
        stt_s REAL,
        barged_in INTEGER NOT NULL DEFAULT 0,
        UNIQUE (call_id, idx)
    );
    CREATE INDEX turns_call ON turns(call_id);
    """,
)
