"""Access tokens for Google's APIs (Calendar, Sheets, Gmail).

A connector takes either a fixed token (``token_env``: one an installer refreshes outside, fine for a
test) or, for a real deployment, ``service_account_file``: the JSON key Google gives for a service
account (``client_email``, ``private_key``, ``token_uri``). The appliance then signs a JWT with that
key (RS256) and trades it at the token endpoint for an hour's access token (RFC 7523, the "JWT bearer"
grant), kept until a minute before it expires, and minted again after that or after a 401. Gmail needs
the mailbox the account acts for (``mailbox``, domain-wide delegation: the JWT's ``sub``).
The key stays on the box; only the signed assertion is sent, to Google's token endpoint.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import httpx

from ..errors import ConfigError
from .connectors import Connector, Outcome

TOKEN_URI = "https://oauth2.googleapis.com/token"
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MARGIN_S = 60.0  # a token this close to its expiry is minted again


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class GoogleAuth:
    """The ``Authorization`` header for one connector's calls, from a fixed token or a service account."""

    def __init__(self, options: dict[str, Any], scopes: tuple[str, ...], where: str) -> None:
        self.fixed = str(options.get("token") or "")
        self.scopes = scopes
        self.subject = str(options.get("mailbox") or "")
        self._token, self._expires = "", 0.0
        self._lock = threading.Lock()
        self._key: Any = None
        self.email, self.token_uri = "", TOKEN_URI
        path = options.get("service_account_file")
        if path:
            self._load(Path(str(path)), where)
        elif not self.fixed:
            raise ConfigError(
                f'{where}: set service_account_file = "/etc/vocalia/google-key.json" (a service account\'s JSON '
                'key) or token_env = "VAR" (an access token in VAR)'
            )

    def _load(self, path: Path, where: str) -> None:
        from cryptography.hazmat.primitives import serialization

        try:
            info = json.loads(path.read_text(encoding="utf-8"))
            self.email, pem = str(info["client_email"]), str(info["private_key"]).encode()
            self.token_uri = str(info.get("token_uri") or TOKEN_URI)
            self._key = serialization.load_pem_private_key(pem, password=None)
        except OSError as err:
            raise ConfigError(f"{where}: service_account_file {path} cannot be read ({err.strerror})") from None
        except (ValueError, KeyError, TypeError) as err:
            raise ConfigError(
                f"{where}: {path} is not a service account key (JSON with client_email and private_key: "
                f"download it again from the Google Cloud console; {type(err).__name__})"
            ) from None

    def assertion(self, now: float | None = None) -> str:
        """The signed JWT traded for a token: who we are, what for, valid for an hour."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        issued = int(now if now is not None else time.time())
        claims: dict[str, Any] = {
            "iss": self.email,
            "scope": " ".join(self.scopes),
            "aud": self.token_uri,
            "iat": issued,
            "exp": issued + 3600,
        }
        if self.subject:
            claims["sub"] = self.subject
        header = _b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signed = f"{header}.{body}".encode()
        signature = self._key.sign(signed, padding.PKCS1v15(), hashes.SHA256())
        return f"{header}.{body}.{_b64(signature)}"

    @property
    def minted(self) -> bool:
        """Whether tokens are minted from a service account (else the fixed one is used as it is)."""
        return self._key is not None

    def _cached(self) -> str | None:
        if self.fixed and self._key is None:
            return self.fixed
        with self._lock:
            return self._token if self._token and time.time() < self._expires - MARGIN_S else None

    def _take(self, response: httpx.Response) -> tuple[str, Outcome | None]:
        if not response.is_success:
            try:
                body = response.json()
                reason = f"{body.get('error', '')}: {body.get('error_description', '')}"
            except ValueError:
                reason = response.text[:200]
            permanent = 400 <= response.status_code < 500 and response.status_code != 429
            fix = " (check service_account_file and the account's access)" if permanent else ""
            return "", Outcome(False, f"Google refused the service account's token: {reason}{fix}", permanent=permanent)
        body = response.json()
        with self._lock:
            self._token = str(body["access_token"])
            self._expires = time.time() + float(body.get("expires_in", 3600))
            return self._token, None

    def forget(self) -> None:
        """Drop the token (a 401 said it was revoked or expired early): the next call mints another."""
        with self._lock:
            self._token, self._expires = "", 0.0

    def _form(self) -> dict[str, str]:
        return {"grant_type": GRANT, "assertion": self.assertion()}

    async def headers(self, client: httpx.AsyncClient) -> tuple[dict[str, str], Outcome | None]:
        """The header for the outbox worker's call, or the outcome to settle the delivery with."""
        token = self._cached()
        if token is None:
            response = await client.post(self.token_uri, data=self._form(), timeout=10.0)
            token, failed = self._take(response)
            if failed is not None:
                return {}, failed
        return {"Authorization": f"Bearer {token}"}, None

    def headers_sync(self, client: httpx.Client) -> dict[str, str]:
        """The header for a live read (availability); raises ``ValueError`` when no token can be had."""
        token = self._cached()
        if token is None:
            token, failed = self._take(client.post(self.token_uri, data=self._form()))
            if failed is not None:
                raise ValueError(failed.error)
        return {"Authorization": f"Bearer {token}"}


class GoogleConnector(Connector):
    """A connector to a Google API: ``service_account_file`` (or ``token_env``) gives its token."""

    SCOPES: ClassVar[tuple[str, ...]] = ()
    secret_alternatives: ClassVar[dict[str, str]] = {"token": "service_account_file"}

    def __init__(self, name: str, tools: tuple[str, ...], fields: tuple[str, ...] | None, options: dict[str, Any]):
        super().__init__(name, tools, fields, options)
        self.auth = GoogleAuth(self.options, self.SCOPES, f"integrations.toml ({name})")

    async def call(self, client: httpx.AsyncClient, method: str, url: str, **request: Any) -> httpx.Response | Outcome:
        """One API call with the current token; a 401 mints a new one and tries once more."""
        for _ in range(2):
            headers, failed = await self.auth.headers(client)
            if failed is not None:
                return failed
            response = await client.request(method, url, headers=headers, timeout=self.timeout_s, **request)
            if response.status_code != 401 or not self.auth.minted:
                return response
            self.auth.forget()
        return response
