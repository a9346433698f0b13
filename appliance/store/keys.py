"""The database key: 32 random bytes kept as 64 hex characters in a file, and where that file is found.

First found wins:

1. ``$CREDENTIALS_DIRECTORY/db.key``: under systemd, ``LoadCredential=db.key:/etc/vocalia/db.key``
   (``scripts/install-service`` creates that file once);
2. ``[store] key_file``;
3. ``<state_dir>/db.key``, created with a fresh key while there is no encrypted database yet (the demo:
   the key lies beside the database, so whoever copies the state directory has both).

An encrypted database is never given a new key: without its own key it cannot be read, so a missing key
is an error that says where it was looked for.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..config import ApplianceConfig
from ..errors import ConfigError

_LOGGER = logging.getLogger(__name__)
CREDENTIAL = "db.key"
KEY_FILE = "db.key"
PLAINTEXT_HEADER = b"SQLite format 3\x00"  # what every unencrypted SQLite file starts with
NEW_KEY_COMMAND = "od -An -tx1 -N32 /dev/urandom | tr -d ' \\n'"


@dataclass(frozen=True)
class DatabaseKey:
    """A 256-bit SQLCipher key and where it came from (named in messages; the key itself never is)."""

    secret: bytes = field(repr=False)
    source: str

    @property
    def pragma(self) -> str:
        """The raw-key literal for ``PRAGMA key`` and ``ATTACH ... KEY``: used as is, no PBKDF2 at open."""
        return f"\"x'{self.secret.hex()}'\""


def is_plaintext(path: Path) -> bool:
    """Whether the file is an unencrypted SQLite database (one written by an earlier version)."""
    try:
        with path.open("rb") as f:
            return f.read(len(PLAINTEXT_HEADER)) == PLAINTEXT_HEADER
    except OSError:  # missing or unreadable: opening it says why
        return False


def read_key(path: Path) -> DatabaseKey:
    """The key held in a file.

    Raises:
        ConfigError: the file is missing, unreadable or does not hold 64 hex characters.
    """
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        raise ConfigError(
            f"database key file {path} does not exist; restore it from your backup, or set [store] key_file"
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"database key file {path} cannot be read ({err}); check its owner and mode (0600)") from None
    if not re.fullmatch(r"[0-9a-fA-F]{64}", text):
        raise ConfigError(
            f"database key file {path} does not hold a key (64 hex characters); restore it from your backup "
            f"(a new database only: {NEW_KEY_COMMAND} > {path})"
        )
    return DatabaseKey(bytes.fromhex(text), str(path))


def find_key(config: ApplianceConfig, env: Mapping[str, str] | None = None) -> DatabaseKey | None:
    """The configured database key; None when there is none yet and the database may get a fresh one.

    Raises:
        ConfigError: a key file is named but unusable, or the database is encrypted and no key is found.
    """
    env = os.environ if env is None else env
    looked = []
    credentials = env.get("CREDENTIALS_DIRECTORY")
    if credentials:
        credential = Path(credentials) / CREDENTIAL
        if credential.is_file():
            return read_key(credential)
        looked.append(f"{credential} (LoadCredential=db.key)")
    if config.store.key_file:
        return read_key(Path(config.store.key_file).expanduser())
    beside = config.state_path / KEY_FILE
    if beside.exists():
        return read_key(beside)
    looked.append(str(beside))
    db = config.db_path
    if db.exists() and db.stat().st_size > 0 and not is_plaintext(db):
        raise ConfigError(
            f"database {db} is encrypted and its key was not found (looked for {', '.join(looked)}); "
            "restore the key file that belongs to it from your backup (an installed box: /etc/vocalia/db.key) "
            "or name it in [store] key_file; a new key would not open it"
        )
    return None


def database_key(config: ApplianceConfig, env: Mapping[str, str] | None = None) -> DatabaseKey:
    """The configured database key, created in ``<state_dir>/db.key`` for a database that has none yet."""
    return find_key(config, env) or _create(config.state_path / KEY_FILE)


def _create(path: Path) -> DatabaseKey:
    """Write a fresh key, mode 0600, atomically: a concurrent opener gets the same key or waits for none."""
    secret = secrets.token_bytes(32)
    staging = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secret.hex() + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(staging, path)  # fails if another process created the key first: then use that one
        except FileExistsError:
            return read_key(path)
        finally:
            staging.unlink()
        with contextlib.suppress(OSError):  # the key is written; the directory entry's fsync is best effort
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    except OSError as err:
        raise ConfigError(
            f"database key file {path} cannot be created ({err.strerror}); check state_dir and its permissions, "
            "or set [store] key_file"
        ) from None
    _LOGGER.warning(
        "created the database key %s beside the database: fine for a demo; in production the key comes from "
        "the systemd credential /etc/vocalia/db.key (scripts/install-service). Back it up apart from the data",
        path,
    )
    return DatabaseKey(secret, str(path))
