"""Credentials from a JSON file: the seed reader's path and format, precedence, no leaks."""

from __future__ import annotations

import json

import pytest

from cm_assets.carbonmapper import ClientConfig
from cm_assets.carbonmapper.config import credentials_file, read_credentials_file

pytestmark = pytest.mark.fast


def _write(path, payload) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload))


def test_the_seed_readers_file_is_found_under_home(tmp_path):
    _write(tmp_path / ".georeader" / "auth_carbonmapper.json", {"email": "a@b.c", "password": "pw-123"})
    config = ClientConfig.load({"HOME": str(tmp_path)})
    assert config.credentials.email == "a@b.c" and config.credentials.password.reveal() == "pw-123"


def test_own_path_wins_over_the_seed_path_and_explicit_file_over_both(tmp_path):
    _write(tmp_path / ".georeader" / "auth_carbonmapper.json", {"token": "seed-token"})
    _write(tmp_path / ".config" / "cm_assets" / "carbonmapper.json", {"token": "own-token"})
    assert ClientConfig.load({"HOME": str(tmp_path)}).credentials.token.reveal() == "own-token"
    _write(tmp_path / "other.json", {"access_token": "explicit-token", "base_url": "https://x.test/api/v1"})
    config = ClientConfig.load({"HOME": str(tmp_path), "CARBONMAPPER_CONFIG": str(tmp_path / "other.json")})
    assert config.credentials.token.reveal() == "explicit-token" and config.api_url == "https://x.test/api/v1"


def test_environment_credentials_win_and_the_file_is_not_read(tmp_path):
    (tmp_path / ".georeader").mkdir()
    (tmp_path / ".georeader" / "auth_carbonmapper.json").write_text("not json")
    config = ClientConfig.load({"HOME": str(tmp_path), "CARBONMAPPER_TOKEN": "env-token"})
    assert config.credentials.token.reveal() == "env-token"


def test_no_file_means_anonymous(tmp_path):
    assert credentials_file({"HOME": str(tmp_path)}) is None
    assert ClientConfig.load({"HOME": str(tmp_path)}).credentials.anonymous


def test_bad_files_name_the_file_never_the_secret(tmp_path):
    bad = tmp_path / "creds.json"
    bad.write_text('{"password": "s3cret-value", ')
    with pytest.raises(ValueError) as caught:
        read_credentials_file(bad)
    assert str(bad) in str(caught.value) and "s3cret-value" not in str(caught.value)
    with pytest.raises(FileNotFoundError):
        ClientConfig.load({"CARBONMAPPER_CONFIG": str(tmp_path / "missing.json")})
    _write(tmp_path / "half.json", {"email": "a@b.c"})
    with pytest.raises(ValueError, match="together"):
        ClientConfig.load({"CARBONMAPPER_CONFIG": str(tmp_path / "half.json")})
    _write(tmp_path / "ok.json", {"email": "a@b.c", "password": "s3cret-value"})
    assert "s3cret-value" not in repr(ClientConfig.from_file(tmp_path / "ok.json"))
