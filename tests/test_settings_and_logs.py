"""Settings precedence (init > env > TOML > defaults), the generated salt, and log redaction."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from askdesk.logs import JsonFormatter, redact
from askdesk.settings import Settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    for key in list(__import__("os").environ):
        if key.startswith("ASKDESK_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def test_defaults_put_everything_under_one_data_dir():
    s = Settings()  # the data dir is made absolute once, so no later chdir changes its meaning
    assert s.lancedb_location == str(Path.cwd() / ".askdesk" / "lancedb")
    assert s.database_location == f"sqlite:///{Path.cwd() / '.askdesk' / 'askdesk.db'}"
    assert s.embed_model == "all-MiniLM-L6-v2" and s.search_mode == "hybrid"


def test_toml_then_env_then_arguments(tmp_path, monkeypatch):
    (tmp_path / "askdesk.toml").write_text(
        'data_dir = "from-toml"\nmin_confidence = 0.5\ntop_k = 7\n'
        'database_url = "postgresql+psycopg://u:pw@db/askdesk"\n'
    )
    monkeypatch.setenv("ASKDESK_MIN_CONFIDENCE", "0.6")
    s = Settings()
    assert s.data_dir == Path.cwd() / "from-toml" and s.top_k == 7 and s.min_confidence == 0.6
    assert s.database_location.startswith("postgresql+psycopg://")
    assert Settings(top_k=3).top_k == 3


def test_config_path_from_env(tmp_path, monkeypatch):
    cfg = tmp_path / "elsewhere.toml"
    cfg.write_text('lancedb_uri = "s3://bucket/index"\n')
    monkeypatch.setenv("ASKDESK_CONFIG", str(cfg))
    assert Settings().lancedb_location == "s3://bucket/index"


def test_invalid_values_are_rejected():
    with pytest.raises(ValidationError):
        Settings(min_confidence=2)
    with pytest.raises(ValidationError, match="path"):
        Settings(docs_url_template="https://docs.example.com/")


def test_salt_is_generated_once_private_and_stable(tmp_path):
    s = Settings(data_dir=tmp_path / "d")
    first = s.salt()
    assert first == Settings(data_dir=tmp_path / "d").salt() and len(first) == 64
    mode = stat.S_IMODE((tmp_path / "d" / "salt").stat().st_mode)
    assert mode == 0o600
    assert Settings(data_dir=tmp_path / "d", asker_salt="given").salt() == "given"


def test_secrets_are_redacted_from_log_lines():
    line = "token xoxb-123-456-abcdef and xapp-1-A1-999 url postgresql://bob:hunter2@db/x"
    out = redact(line)
    assert "xoxb-123" not in out and "xapp-1" not in out and "hunter2" not in out
    assert out.count("[redacted]") == 3


def test_json_formatter_writes_one_object_per_line_with_extra_fields():
    rec = logging.makeLogRecord(
        {
            "msg": "skipped file",
            "levelname": "INFO",
            "name": "x",
            "path": "a.pdf",
            "reason": "broken PDF",
        }
    )
    obj = json.loads(JsonFormatter().format(rec))
    assert obj["msg"] == "skipped file" and obj["path"] == "a.pdf" and obj["level"] == "info"
