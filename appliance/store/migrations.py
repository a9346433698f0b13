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
    # 2: the local calendar (the source of truth for "booked"), and the write actions of dialogues,
    # pending until the outbox delivers them.
    """
    CREATE TABLE bookings (
        id TEXT PRIMARY KEY,
        patient_name TEXT NOT NULL,
        start TEXT NOT NULL,
        end TEXT NOT NULL,
        provider TEXT NOT NULL DEFAULT '',
        service TEXT NOT NULL DEFAULT '',
        phone TEXT NOT NULL DEFAULT '',
        date_of_birth TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'booked',
        call_id TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX bookings_start ON bookings(start);
    CREATE TABLE actions (
        id TEXT PRIMARY KEY,
        call_id TEXT,
        tool TEXT NOT NULL,
        args TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        created_at TEXT NOT NULL
    );
    CREATE INDEX actions_call ON actions(call_id);
    """,
    # 3: the outbox: one row per action and connector, delivered by the sync worker.
    """
    CREATE TABLE outbox (
        id TEXT PRIMARY KEY,
        action_id TEXT NOT NULL REFERENCES actions(id),
        idempotency_key TEXT NOT NULL UNIQUE,
        connector TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'in_flight', 'delivered', 'dead')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL,
        lease_until REAL,
        last_error TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX outbox_due ON outbox(state, connector, next_attempt_at);
    """,
    # 4: the audit log: who saw or exported what (PHI opt-ins on the status page, exports, purges).
    """
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT ''
    );
    """,
    # 5: the language each turn was heard and answered in.
    """
    ALTER TABLE turns ADD COLUMN language TEXT NOT NULL DEFAULT '';
    """,
    # 6: the front desk's work: who handled a message or a callback request, how and when; and what
    # happened to a booking after it was made (moved from another time, cancelled), for the desk's day.
    """
    ALTER TABLE actions ADD COLUMN handled TEXT NOT NULL DEFAULT '';
    ALTER TABLE actions ADD COLUMN handled_by TEXT NOT NULL DEFAULT '';
    ALTER TABLE actions ADD COLUMN handled_at TEXT NOT NULL DEFAULT '';
    ALTER TABLE bookings ADD COLUMN moved_from TEXT NOT NULL DEFAULT '';
    ALTER TABLE bookings ADD COLUMN changed_at TEXT NOT NULL DEFAULT '';
    """,
    # 7: appointment reminders, one row per booking time and channel (the unique key is what makes a
    # second planner, a restart or a crash never remind twice), the do-not-call list, and confirmations.
    """
    CREATE TABLE reminders (
        id TEXT PRIMARY KEY,
        booking_id TEXT NOT NULL,
        appointment TEXT NOT NULL,
        phone TEXT NOT NULL,
        channel TEXT NOT NULL CHECK (channel IN ('call', 'sms')),
        language TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'dialing', 'answered', 'done', 'failed', 'skipped')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL,
        lease_until REAL,
        outcome TEXT NOT NULL DEFAULT '',
        reply TEXT NOT NULL DEFAULT '',
        call_id TEXT,
        last_error TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (booking_id, appointment, channel)
    );
    CREATE INDEX reminders_due ON reminders(state, next_attempt_at);
    CREATE TABLE do_not_call (
        phone TEXT PRIMARY KEY,
        added_at TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT ''
    );
    ALTER TABLE bookings ADD COLUMN confirmed_at TEXT NOT NULL DEFAULT '';
    """,
    # 8: every transfer to a person and how it went (answered, busy, no_answer, declined, failed), warm
    # (the appliance called the person first and told them who was calling) or blind (a REFER).
    """
    CREATE TABLE transfers (
        id INTEGER PRIMARY KEY,
        call_id TEXT NOT NULL,
        mode TEXT NOT NULL CHECK (mode IN ('warm', 'blind')),
        target TEXT NOT NULL,
        outcome TEXT NOT NULL,
        status INTEGER NOT NULL DEFAULT 0,
        summary TEXT NOT NULL DEFAULT '',
        at TEXT NOT NULL
    );
    """,
    # 9: the appliance's outbound calls are reminders or callbacks it places itself ([callbacks] place):
    # a callback's row has the schedule_callback action's id in booking_id and the time asked for in
    # appointment, so the same unique key, leases and recovery keep it to one call.
    """
    ALTER TABLE reminders ADD COLUMN kind TEXT NOT NULL DEFAULT 'reminder' CHECK (kind IN ('reminder', 'callback'));
    """,
    # 10: each patient's consent to be reminded, per channel (the last word wins; every change is also an
    # audit row), and reminders by WhatsApp: SQLite cannot widen a CHECK, so the reminders table is rebuilt.
    """
    CREATE TABLE consent (
        phone TEXT NOT NULL,
        channel TEXT NOT NULL CHECK (channel IN ('call', 'sms', 'whatsapp')),
        granted INTEGER NOT NULL CHECK (granted IN (0, 1)),
        source TEXT NOT NULL,
        call_id TEXT,
        at TEXT NOT NULL,
        PRIMARY KEY (phone, channel)
    );
    CREATE TABLE reminders_v10 (
        id TEXT PRIMARY KEY,
        booking_id TEXT NOT NULL,
        appointment TEXT NOT NULL,
        phone TEXT NOT NULL,
        channel TEXT NOT NULL CHECK (channel IN ('call', 'sms', 'whatsapp')),
        language TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'dialing', 'answered', 'done', 'failed', 'skipped')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL,
        lease_until REAL,
        outcome TEXT NOT NULL DEFAULT '',
        reply TEXT NOT NULL DEFAULT '',
        call_id TEXT,
        last_error TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        kind TEXT NOT NULL DEFAULT 'reminder' CHECK (kind IN ('reminder', 'callback')),
        UNIQUE (booking_id, appointment, channel)
    );
    INSERT INTO reminders_v10 (id, booking_id, appointment, phone, channel, language, state, attempts,
        next_attempt_at, lease_until, outcome, reply, call_id, last_error, created_at, updated_at, kind)
        SELECT id, booking_id, appointment, phone, channel, language, state, attempts, next_attempt_at,
        lease_until, outcome, reply, call_id, last_error, created_at, updated_at, kind FROM reminders;
    DROP TABLE reminders;
    ALTER TABLE reminders_v10 RENAME TO reminders;
    CREATE INDEX reminders_due ON reminders(state, next_attempt_at);
    """,
)
