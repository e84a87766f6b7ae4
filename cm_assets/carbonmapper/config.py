"""Client configuration: API base URL and credentials, from explicit values or the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_API_URL = "http://127.0.0.1:8700/api/v1"
ENV_API_URL = "CARBONMAPPER_API_URL"
ENV_TOKEN = "CARBONMAPPER_TOKEN"
ENV_EMAIL = "CARBONMAPPER_EMAIL"
ENV_PASSWORD = "CARBONMAPPER_PASSWORD"


class Secret:
    """A string that never shows itself in ``repr``/``str``; ``reveal()`` returns it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self):  # noqa: D105 - refuse to serialise secrets by accident
        raise TypeError("secrets are not picklable")


def _secret(value: str | Secret | None) -> Secret | None:
    if value is None or isinstance(value, Secret):
        return value
    return Secret(value) if value.strip() else None


@dataclass(frozen=True)
class Credentials:
    """An access token, or an account (email + password) to obtain one, or nothing (anonymous)."""

    token: Secret | None = None
    email: str | None = None
    password: Secret | None = field(default=None, repr=False)

    @classmethod
    def of(cls, token: str | Secret | None = None, email: str | None = None,
           password: str | Secret | None = None) -> Credentials:
        creds = cls(_secret(token), (email or "").strip() or None, _secret(password))
        if (creds.email is None) != (creds.password is None):
            raise ValueError("email and password must be given together")
        return creds

    @property
    def can_login(self) -> bool:
        return self.email is not None and self.password is not None

    @property
    def anonymous(self) -> bool:
        return self.token is None and not self.can_login


@dataclass(frozen=True)
class ClientConfig:
    """Everything a :class:`~cm_assets.carbonmapper.client.CarbonMapperClient` needs to connect."""

    api_url: str = DEFAULT_API_URL
    credentials: Credentials = field(default_factory=Credentials)

    def __post_init__(self) -> None:
        object.__setattr__(self, "api_url", self.api_url.rstrip("/"))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, api_url: str | None = None,
                 token: str | None = None, email: str | None = None,
                 password: str | None = None) -> ClientConfig:
        """Explicit arguments win over ``CARBONMAPPER_*`` variables.

        With both a token and a login, the token is used first and the login renews it.
        """
        env = os.environ if environ is None else environ
        creds = Credentials.of(token=token or env.get(ENV_TOKEN),
                               email=email or env.get(ENV_EMAIL),
                               password=password or env.get(ENV_PASSWORD))
        return cls(api_url or env.get(ENV_API_URL) or DEFAULT_API_URL, creds)
