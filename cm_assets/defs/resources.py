"""Resources: the Carbon Mapper client and the data-root storage."""

from __future__ import annotations

import os

from dagster import ConfigurableResource, EnvVar
from pydantic import Field

from cm_assets.defs.storage import Storage

DEFAULT_API_URL = "http://127.0.0.1:8700/api/v1"
_CLIENT_ENV = {"api_url": "CARBONMAPPER_API_URL", "token": "CARBONMAPPER_TOKEN",
               "email": "CARBONMAPPER_EMAIL", "password": "CARBONMAPPER_PASSWORD"}


class CarbonMapperResource(ConfigurableResource):
    """Typed Carbon Mapper client; defaults to the local replica. Secrets come in through EnvVar."""

    api_url: str = Field(default=DEFAULT_API_URL, description="API base URL")
    token: str | None = Field(default=None, description="Bearer access token")
    email: str | None = Field(default=None, description="account e-mail for /token/pair")
    password: str | None = Field(default=None, description="account password for /token/pair")

    @classmethod
    def from_environment(cls) -> CarbonMapperResource:
        """Bind each setting to its environment variable when set (EnvVar keeps values out of the UI)."""
        return cls(**{field: EnvVar(var) for field, var in _CLIENT_ENV.items() if os.environ.get(var)})

    def get_client(self):
        """A new ``CarbonMapperClient`` for one run; without a configured secret, the credentials
        file (``CARBONMAPPER_CONFIG`` or the default paths) is used when there is one."""
        from cm_assets.carbonmapper import CarbonMapperClient, ClientConfig

        if self.token or self.email or self.password:
            return CarbonMapperClient(self.api_url, token=self.token, email=self.email, password=self.password)
        explicit_url = None if self.api_url == DEFAULT_API_URL else self.api_url  # else the file's own URL
        return CarbonMapperClient(config=ClientConfig.from_file(api_url=explicit_url))


class StorageResource(ConfigurableResource):
    """Data root (local path or fsspec URL) holding the GeoParquet tables, products, crops and plots."""

    root: str = Field(default="data", description="local path or fsspec URL")
    warehouse_path: str | None = Field(default=None, description="DuckDB file; <root>/cm.duckdb if unset")

    @classmethod
    def from_environment(cls) -> StorageResource:
        values = {}
        if os.environ.get("CM_ASSETS_DATA_ROOT"):
            values["root"] = EnvVar("CM_ASSETS_DATA_ROOT")
        if os.environ.get("CM_ASSETS_WAREHOUSE"):
            values["warehouse_path"] = EnvVar("CM_ASSETS_WAREHOUSE")
        return cls(**values)

    def storage(self) -> Storage:
        return Storage(self.root)

    def duckdb_path(self) -> str:
        if self.warehouse_path:
            return self.warehouse_path
        store = self.storage()
        if not store.is_local:
            raise ValueError("set CM_ASSETS_WAREHOUSE to a local file when the data root is remote")
        return store.uri("cm.duckdb")
