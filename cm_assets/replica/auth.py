"""Accounts and HS256 JWTs shaped like the real platform's (django-ninja-jwt).

* ``POST /token/pair`` returns ``{refresh, access, groups, permissions}``; bad credentials give
  401 with ``ErrorsOut`` (``{"errors": {...}}``).
* ``POST /token/refresh`` rotates: it returns a new refresh token with the new access token
  (the old refresh token stays valid until it expires; there is no blacklist).
* Access tokens carry the claims seen in public samples and live ``--token-lifetime`` seconds
  (default 604800 = 7 days); refresh tokens live 30 days (not observed; a choice).
* Expiry uses the wall clock, not the replica clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, date, datetime
from typing import Any

from cm_assets.replica.errors import HTTPError

DEMO_EMAIL = "demo@cm-assets.local"
DEMO_PASSWORD = "methane-demo"
DEMO_USER_ID = 4242
REFRESH_LIFETIME_S = 30 * 86400
ACCESS_SCOPE = "stac catalog:read"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class AuthError(Exception):
    """A token that is malformed, badly signed, expired or of the wrong type."""


def token_invalid() -> HTTPError:
    """The 401 django-ninja-jwt returns for a bad Bearer token."""
    return HTTPError(401, {"detail": "Given token not valid for any token type",
                           "code": "token_not_valid"})


def unauthorized() -> HTTPError:
    """The 401 for a missing Bearer on a protected route."""
    return HTTPError(401, {"detail": "Unauthorized"})


class AuthService:
    """Issues and checks tokens for the single demo account."""

    def __init__(self, secret: bytes, access_lifetime: int = 604800,
                 accounts: dict[str, str] | None = None) -> None:
        self._secret = secret
        self.access_lifetime = access_lifetime
        self._accounts = accounts or {DEMO_EMAIL: DEMO_PASSWORD}

    def encode(self, claims: dict[str, Any]) -> str:
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = f"{header}.{payload}".encode("ascii")
        signature = hmac.new(self._secret, signing_input, hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64(signature)}"

    def decode(self, token: str, token_type: str = "access") -> dict[str, Any]:
        """Verify signature, expiry and type; raise AuthError otherwise."""
        parts = token.split(".")
        if len(parts) != 3:
            raise AuthError("malformed token")
        signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
        expected = hmac.new(self._secret, signing_input, hashlib.sha256).digest()
        try:
            signature = _unb64(parts[2])
            claims = json.loads(_unb64(parts[1]))
        except (ValueError, json.JSONDecodeError) as exc:
            raise AuthError("malformed token") from exc
        if not hmac.compare_digest(signature, expected):
            raise AuthError("bad signature")
        if not isinstance(claims, dict) or claims.get("token_type") != token_type:
            raise AuthError("wrong token type")
        if float(claims.get("exp", 0)) <= time.time():
            raise AuthError("token expired")
        return claims

    def _access(self, user_id: int, lifetime: int, **extra: Any) -> str:
        now = int(time.time())
        claims = {
            "token_type": "access", "exp": now + lifetime, "iat": now,
            "jti": uuid.uuid4().hex, "scope": ACCESS_SCOPE, "groups": "Public",
            "all_group_names": {"common": ["Public"]}, "organizations": "", "settings": {},
            "is_staff": False, "is_superuser": False, "user_id": user_id, **extra,
        }
        return self.encode(claims)

    def _refresh(self, user_id: int) -> str:
        now = int(time.time())
        return self.encode({"token_type": "refresh", "exp": now + REFRESH_LIFETIME_S,
                            "iat": now, "jti": uuid.uuid4().hex, "user_id": user_id})

    def pair(self, body: Any) -> dict[str, Any]:
        """``POST /token/pair``."""
        email = body.get("email") if isinstance(body, dict) else None
        password = body.get("password") if isinstance(body, dict) else None
        if not isinstance(email, str) or not isinstance(password, str):
            raise HTTPError(422, {"detail": [{"type": "missing", "loc": ["body", "user_token"],
                                              "msg": "Field required"}]})
        known = self._accounts.get(email.strip().lower())
        if known is None or not hmac.compare_digest(known, password):
            raise HTTPError(401, {"errors": {"detail": [
                "No active account found with the given credentials"]}})
        return {"refresh": self._refresh(DEMO_USER_ID),
                "access": self._access(DEMO_USER_ID, self.access_lifetime),
                "groups": "Public", "permissions": []}

    def refresh(self, body: Any) -> dict[str, Any]:
        """``POST /token/refresh`` (rotating)."""
        token = body.get("refresh") if isinstance(body, dict) else None
        if not isinstance(token, str):
            raise HTTPError(422, {"detail": [{"type": "missing", "loc": ["body", "refresh_token"],
                                              "msg": "Field required"}]})
        try:
            claims = self.decode(token, "refresh")
        except AuthError as exc:
            raise HTTPError(401, {"detail": "Token is invalid or expired",
                                  "code": "token_not_valid"}) from exc
        user_id = int(claims["user_id"])
        return {"refresh": self._refresh(user_id),
                "access": self._access(user_id, self.access_lifetime)}

    def verify(self, body: Any) -> dict[str, Any]:
        """``POST /token/verify``: any valid token (access or refresh) → ``{}``."""
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str):
            raise HTTPError(422, {"detail": [{"type": "missing", "loc": ["body", "token"],
                                              "msg": "Field required"}]})
        for kind in ("access", "refresh"):
            try:
                self.decode(token, kind)
                return {}
            except AuthError:
                continue
        raise HTTPError(401, {"detail": "Token is invalid or expired", "code": "token_not_valid"})

    def create_stac(self, claims: dict[str, Any], body: Any) -> dict[str, Any]:
        """``POST /account/tokens/create-stac``: a long-lived scoped access token."""
        body = body if isinstance(body, dict) else {}
        name = str(body.get("name") or "stac")
        raw_date = body.get("expiration_date")
        try:
            until = date.fromisoformat(raw_date) if raw_date else None
        except (TypeError, ValueError) as exc:
            raise HTTPError(422, {"detail": [{"type": "date_from_datetime_parsing",
                                              "loc": ["body", "expiration_date"],
                                              "msg": "Input should be a valid date"}]}) from exc
        if until is None:
            lifetime = 365 * 86400
        else:
            end = datetime(until.year, until.month, until.day, 23, 59, 59, tzinfo=UTC)
            lifetime = int(end.timestamp() - time.time())
            if lifetime <= 0:
                raise HTTPError(400, {"errors": {"expiration_date": [
                    "Expiration date must be in the future"]}})
        token = self._access(int(claims["user_id"]), lifetime, token_name=name)
        return {"id": str(uuid.uuid4()), "name": name,
                "expiration_date": until.isoformat() if until else None,
                "scopes": ["STAC", "catalog:read"], "token_value": token}
