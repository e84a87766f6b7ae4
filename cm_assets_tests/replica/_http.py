"""Shared HTTP utilities for the replica HTTP tests."""

from __future__ import annotations

import base64
import json
from typing import Any

import requests

from cm_assets.replica.process import ReplicaProcess

TIMEOUT = 30


def login(replica: ReplicaProcess) -> dict[str, Any]:
    """A fresh token pair for the demo account."""
    response = requests.post(f"{replica.api_url}/token/pair", timeout=TIMEOUT,
                             json={"email": replica.email, "password": replica.password})
    response.raise_for_status()
    return response.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def jwt_claims(token: str) -> dict[str, Any]:
    """The (unverified) payload of a JWT."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def admin(replica: ReplicaProcess, method: str, path: str, **kwargs: Any) -> Any:
    response = requests.request(method, f"{replica.admin_url}{path}", timeout=TIMEOUT, **kwargs)
    response.raise_for_status()
    return response.json()
