"""Resources: the Carbon Mapper client, the data-root storage and the freshness knobs."""

from __future__ import annotations

import os
import re
import threading
from typing import Any
from urllib.parse import urlsplit

from dagster import ConfigurableResource, EnvVar
from pydantic import Field, PrivateAttr

from cm_assets.carbonmapper.budget import ENV_REQUESTS, ENV_STORE, ENV_WINDOW, BudgetSpec, parse_budget
from cm_assets.carbonmapper.ratelimit import RateLimiter, RatePolicy
from cm_assets.storage import layout
from cm_assets.storage.origin import claim_data_root
from cm_assets.storage.store import Storage

DEFAULT_API_URL = "http://127.0.0.1:8700/api/v1"
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_SECRET_FIELDS = ("token", "email", "password")
HOW_TO_PASS = ("pass credentials through the environment: set CARBONMAPPER_TOKEN, or CARBONMAPPER_EMAIL "
               "and CARBONMAPPER_PASSWORD (or name other variables with token_env / email_env / "
               "password_env); literal values would be stored in Dagster's run database and shown in the UI")


class LiteralSecretError(ValueError):
    """A credential was given as a value instead of the name of an environment variable."""


class CarbonMapperResource(ConfigurableResource):
    """Typed Carbon Mapper client; defaults to the local replica.

    The resource holds only the *names* of the environment variables that carry the credentials,
    read when a client is made; a literal ``token``/``email``/``password`` is refused
    (:class:`LiteralSecretError`), so no secret can reach the run snapshot, the event log or the UI."""

    api_url: str = Field(default=DEFAULT_API_URL, description="API base URL (no credentials in it)")
    token_env: str = Field(default="CARBONMAPPER_TOKEN",
                           description="name of the environment variable holding a Bearer access token")
    email_env: str = Field(default="CARBONMAPPER_EMAIL",
                           description="name of the environment variable holding the account e-mail")
    password_env: str = Field(default="CARBONMAPPER_PASSWORD",
                              description="name of the environment variable holding the account password")
    rate_start: float | None = Field(default=RatePolicy.start,
                                     description="requests/s at the start of a run (None: unpaced); adapts "
                                                 "down on 429/5xx and back up on success")
    rate_max: float = Field(default=RatePolicy.max_rate, description="requests/s never exceeded")
    budget_requests: int | None = Field(default=None, description="requests per budget_window of the API "
                                        "account, shared by every run on this machine (or on every host "
                                        "with a Redis budget_store); None: each run paces itself alone")
    budget_window: float = Field(default=60.0, description="seconds of the shared budget's window")
    budget_store: str | None = Field(default=None, description="where the shared budget is counted: a "
                                     "SQLite file (one machine; default: a file in the temp directory) or "
                                     "a redis:// URL (several hosts)")
    #: The access token of this resource's e-mail + password login, shared by every client it makes
    #: (in a run: every asset's), so a run logs in once, not once per asset.
    _token: str | None = PrivateAttr(default=None)
    #: The pacing of the last client this resource made (in a run: the previous asset's).
    _last_limiter: RateLimiter | None = PrivateAttr(default=None)
    _token_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def __init__(self, **data: Any) -> None:
        literal = [name for name in _SECRET_FIELDS if name in data]
        if literal:
            raise LiteralSecretError(f"CarbonMapperResource does not take {', '.join(literal)} as a value: "
                                     + HOW_TO_PASS)
        for name in ("token_env", "email_env", "password_env"):
            value = data.get(name)
            if isinstance(value, str) and not isinstance(value, EnvVar) and not _ENV_NAME.match(value):
                # never echo the value: it may be the secret itself
                raise LiteralSecretError(f"{name} must be the name of an environment variable "
                                         f"([A-Z_][A-Z0-9_]*), not a value: " + HOW_TO_PASS)
        url = data.get("api_url")
        if isinstance(url, str) and not isinstance(url, EnvVar) and (urlsplit(url).username or urlsplit(url).password):
            raise LiteralSecretError("api_url must not carry user:password@: " + HOW_TO_PASS)
        store = data.get("budget_store")
        if isinstance(store, str) and not isinstance(store, EnvVar) and urlsplit(store).password:
            raise LiteralSecretError("budget_store must not carry a password as a value: bind it to an "
                                     "environment variable (CARBONMAPPER_BUDGET_STORE)")
        super().__init__(**data)

    @classmethod
    def from_environment(cls) -> CarbonMapperResource:
        """The API URL bound to CARBONMAPPER_API_URL when set (EnvVar); credentials by variable name;
        the shared budget bound to CARBONMAPPER_BUDGET_REQUESTS / _STORE when set (EnvVar), its
        window parsed now from CARBONMAPPER_BUDGET_WINDOW (Dagster's config has no float source)."""
        values: dict[str, Any] = {}
        if os.environ.get("CARBONMAPPER_API_URL"):
            values["api_url"] = EnvVar("CARBONMAPPER_API_URL")
        budget = parse_budget(os.environ.get(ENV_REQUESTS), os.environ.get(ENV_WINDOW))
        if budget is not None:
            values.update(budget_requests=EnvVar.int(ENV_REQUESTS), budget_window=budget.window)
        if os.environ.get(ENV_STORE, "").strip():
            values["budget_store"] = EnvVar(ENV_STORE)
        return cls(**values)

    def budget(self) -> BudgetSpec | None:
        """The shared request budget, or None when ``budget_requests`` is unset."""
        if self.budget_requests is None:
            return None
        return BudgetSpec(self.budget_requests, self.budget_window, self.budget_store or None)

    def get_client(self):
        """A new ``CarbonMapperClient`` for one run, with the credentials read from the environment now;
        without any, the credentials file (``CARBONMAPPER_CONFIG`` or the default paths) when there is one."""
        from cm_assets.carbonmapper import CarbonMapperClient

        token, email, password = self._environment_credentials()
        rate = self._pacing()
        budget = self.budget()
        if not token and email and password:
            token = self._login_once(email, password, rate, budget)
        if token or email or password:
            client = CarbonMapperClient(self.api_url, token=token, email=email, password=password, rate=rate,
                                        budget=budget)
        else:
            client = CarbonMapperClient(config=self._file_config(), rate=rate, budget=budget)
        self._last_limiter = client.transport.limiter
        return client

    def _environment_credentials(self) -> tuple[str | None, str | None, str | None]:
        """Token, email and password from the variables named, each None when unset or empty."""
        return tuple(os.environ.get(name) or None  # type: ignore[return-value]
                     for name in (self.token_env, self.email_env, self.password_env))

    def _file_config(self):
        """The credentials file's settings (``CARBONMAPPER_CONFIG`` or the default paths), with
        ``api_url`` over the file's own URL unless it is left at its default."""
        from cm_assets.carbonmapper import ClientConfig

        return ClientConfig.from_file(api_url=None if self.api_url == DEFAULT_API_URL else self.api_url)

    def effective_api_url(self) -> str:
        """The API base URL this resource's clients talk to (the one ``get_client`` chooses)."""
        return self.api_url if any(self._environment_credentials()) else self._file_config().api_url

    def _pacing(self) -> RatePolicy:
        """A new client's pacing: where the run's previous client left it, else from ``rate_start``.
        Each asset of a run opens its own client, but the rate limit is the account's: what one
        step learned (up after successes, down after 429s, whether the slow start has ended)
        carries to the next instead of every step starting over. Dagster builds the resource afresh
        for every run, so nothing carries from one run to another."""
        last = self._last_limiter
        if self.rate_start is None or last is None:
            return RatePolicy(start=self.rate_start, max_rate=self.rate_max)
        return last.continuation()

    def _login_once(self, email: str, password: str, rate: RatePolicy,
                    budget: BudgetSpec | None) -> str | None:
        """The shared access token, logging in on first use. Clients also keep the account, so each
        logs in again by itself when the token expires or is refused."""
        from cm_assets.carbonmapper import CarbonMapperClient

        with self._token_lock:
            if self._token is None:
                with CarbonMapperClient(self.api_url, email=email, password=password, rate=rate,
                                        budget=budget) as client:
                    header = client.transport.authorization_for(client.api_url)
                self._token = header.removeprefix("Bearer ") if header else None
            return self._token


class StorageResource(ConfigurableResource):
    """Data root (local path or fsspec URL) holding the GeoParquet tables, products, crops and plots."""

    root: str = Field(default="data", description="local path or fsspec URL")
    warehouse_path: str | None = Field(default=None, description="DuckDB file, or the shared warehouse "
                                       "ducklake:postgres:<connection string without password>; "
                                       "<root>/cm.duckdb if unset")
    warehouse_data_path: str | None = Field(default=None, description="directory or s3:// prefix of the "
                                            "shared warehouse's data files (when it is created)")

    @classmethod
    def from_environment(cls, root: str | None = None) -> StorageResource:
        """The data root ``root`` when given, else bound to CM_ASSETS_DATA_ROOT when set (EnvVar); the
        warehouse bound to CM_ASSETS_WAREHOUSE and its data path to CM_ASSETS_WAREHOUSE_DATA_PATH when set."""
        values: dict[str, Any] = {}
        if root is not None:
            values["root"] = root
        elif os.environ.get("CM_ASSETS_DATA_ROOT"):
            values["root"] = EnvVar("CM_ASSETS_DATA_ROOT")
        if os.environ.get("CM_ASSETS_WAREHOUSE"):
            values["warehouse_path"] = EnvVar("CM_ASSETS_WAREHOUSE")
        if os.environ.get("CM_ASSETS_WAREHOUSE_DATA_PATH"):
            values["warehouse_data_path"] = EnvVar("CM_ASSETS_WAREHOUSE_DATA_PATH")
        return cls(**values)

    def storage(self) -> Storage:
        return Storage(self.root)

    def storage_for(self, carbonmapper: CarbonMapperResource) -> Storage:
        """The data root, claimed for the API ``carbonmapper`` talks to: what every asset and sensor
        that writes what it fetched opens (a data root holds one API's data; ``cm_assets.storage.origin``)."""
        store = self.storage()
        claim_data_root(store, carbonmapper.effective_api_url())
        return store

    def duckdb_path(self) -> str:
        if self.warehouse_path:
            return self.warehouse_path
        store = self.storage()
        if not store.is_local:
            raise ValueError("set CM_ASSETS_WAREHOUSE to a local file or a ducklake: target when the "
                             "data root is remote")
        return store.uri(layout.WAREHOUSE)


FRESHNESS_ENV = {
    "lookback_days": "CM_ASSETS_FRESHNESS_LOOKBACK_DAYS",
    "max_runs_per_tick": "CM_ASSETS_FRESHNESS_MAX_RUNS_PER_TICK",
    "max_plumes_per_tick": "CM_ASSETS_FRESHNESS_MAX_PLUMES_PER_TICK",
    "lag_days": "CM_ASSETS_FRESHNESS_LAG_DAYS",
    "give_up_days": "CM_ASSETS_FRESHNESS_GIVE_UP_DAYS",
    "max_scene_checks_per_tick": "CM_ASSETS_FRESHNESS_MAX_SCENE_CHECKS",
}
"""The environment variable a deployment sets for each field of :class:`FreshnessResource`."""


class FreshnessResource(ConfigurableResource):
    """Per-tick knobs of the freshness sensors and schedules, and the give-up age of deferred scenes
    (shared by the deferred-scene sensor and ``scene_crops``, so both apply the same rule)."""

    lookback_days: float = Field(default=3.0, description="days before the newest publication that a "
                                                          "sensor's first tick (empty cursor) takes")
    max_runs_per_tick: int = Field(default=20, description="observation days (runs) one sensor tick requests")
    max_plumes_per_tick: int = Field(default=5000, description="plumes the new-plume sensor consumes per tick")
    lag_days: int = Field(default=30, description="days before today that the daily schedule re-runs")
    give_up_days: int = Field(default=90, description="days after observation after which a still "
                                                      "unpublished L2B scene is given up")
    max_scene_checks_per_tick: int = Field(default=200, description="deferred scenes the deferred-scene "
                                                                    "sensor asks the API about per tick")

    @classmethod
    def from_environment(cls) -> FreshnessResource:
        """Defaults, each overridden by its variable in :data:`FRESHNESS_ENV` when set: the integers
        bound with ``EnvVar.int`` (Dagster resolves them at each tick and run), the fractional look-back
        parsed now (Dagster's config has no float environment source)."""
        values: dict[str, Any] = {}
        for field, name in FRESHNESS_ENV.items():
            text = os.environ.get(name, "").strip()
            if not text:
                continue
            if field != "lookback_days":
                values[field] = EnvVar.int(name)
                continue
            try:
                values[field] = float(text)
            except ValueError:
                raise ValueError(f"{name} must be a number of days, got {text!r}") from None
        return cls(**values)
