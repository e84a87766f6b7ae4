"""Client configuration: API base URL, credentials and the shared request budget, from explicit
values, the environment or a JSON credentials file."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cm_assets.carbonmapper.budget import ENV_REQUESTS, ENV_STORE, ENV_WINDOW, BudgetSpec, parse_budget

DEFAULT_API_URL = "http://127.0.0.1:8700/api/v1"
ENV_API_URL = "CARBONMAPPER_API_URL"
ENV_TOKEN = "CARBONMAPPER_TOKEN"
ENV_EMAIL = "CARBONMAPPER_EMAIL"
ENV_PASSWORD = "CARBONMAPPER_PASSWORD"
ENV_CONFIG = "CARBONMAPPER_CONFIG"
#: Credentials files looked for (first existing wins) when ``CARBONMAPPER_CONFIG`` is unset; the
#: second is where the georeader reader keeps its Carbon Mapper credentials.
CONFIG_FILES = ("~/.config/cm_assets/carbonmapper.json", "~/.georeader/auth_carbonmapper.json")
#: Accepted spellings of each setting in a credentials file (first present wins).
FILE_KEYS = {"api_url": ("api_url", "base_url", "url"), "token": ("token", "access_token", "access"),
             "email": ("email", "username", "user"), "password": ("password",)}


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
    """Everything a :class:`~cm_assets.carbonmapper.client.CarbonMapperClient` needs to connect;
    ``budget``: the request budget shared with other processes using the account (None: this
    client's own pacing only)."""

    api_url: str = DEFAULT_API_URL
    credentials: Credentials = field(default_factory=Credentials)
    budget: BudgetSpec | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "api_url", self.api_url.rstrip("/"))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, api_url: str | None = None,
                 token: str | None = None, email: str | None = None,
                 password: str | None = None) -> ClientConfig:
        """Explicit arguments win over ``CARBONMAPPER_*`` variables, which win over a credentials
        file (:func:`credentials_file`), read only when neither gives any credential. The budget
        comes from ``CARBONMAPPER_BUDGET_REQUESTS`` / ``_WINDOW`` / ``_STORE``.

        With both a token and a login, the token is used first and the login renews it.
        """
        env = os.environ if environ is None else environ
        values = {"api_url": api_url or env.get(ENV_API_URL), "token": token or env.get(ENV_TOKEN),
                  "email": email or env.get(ENV_EMAIL), "password": password or env.get(ENV_PASSWORD)}
        if not (values["token"] or values["email"] or values["password"]):
            path = credentials_file(env)
            if path is not None:
                values = {k: v or read_credentials_file(path).get(k) for k, v in values.items()}
        creds = Credentials.of(token=values["token"], email=values["email"], password=values["password"])
        budget = parse_budget(env.get(ENV_REQUESTS), env.get(ENV_WINDOW), env.get(ENV_STORE))
        return cls(values["api_url"] or DEFAULT_API_URL, creds, budget)

    load = from_env

    @classmethod
    def from_file(cls, path: Path | None = None, *, api_url: str | None = None,
                  environ: Mapping[str, str] | None = None) -> ClientConfig:
        """Credentials from ``path`` (default: :func:`credentials_file`); anonymous when none.
        ``api_url`` wins over the file's."""
        path = path or credentials_file(environ)
        values = read_credentials_file(path) if path is not None else {}
        creds = Credentials.of(token=values.get("token"), email=values.get("email"),
                               password=values.get("password"))
        return cls(api_url or values.get("api_url") or DEFAULT_API_URL, creds)


def credentials_file(environ: Mapping[str, str] | None = None) -> Path | None:
    """``$CARBONMAPPER_CONFIG`` (must exist), else the first of :data:`CONFIG_FILES` that exists."""
    env = os.environ if environ is None else environ
    if env.get(ENV_CONFIG):
        path = Path(env[ENV_CONFIG]).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"{ENV_CONFIG} points at {path}, which is not a file")
        return path
    home = env.get("HOME")
    for name in CONFIG_FILES:
        path = Path(name.replace("~", home, 1) if home else name).expanduser()
        if path.is_file():
            return path
    return None


def read_credentials_file(path: Path) -> dict[str, str]:
    """The settings of a JSON credentials file (see :data:`FILE_KEYS` for the accepted keys).
    Errors name the file, never its content."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: not a readable JSON credentials file ({type(error).__name__})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object of credentials")
    folded = {str(k).casefold(): v for k, v in data.items()}
    out = {}
    for setting, keys in FILE_KEYS.items():
        value = next((folded[k] for k in keys if isinstance(folded.get(k), str) and folded[k].strip()), None)
        if value is not None:
            out[setting] = value
    return out
