"""Each part owns its settings (issue 24, part 2).

Every setting is declared once, in the block of the component it configures (a small
pydantic module beside that component's code); `askdesk.settings.Settings` assembles the
blocks by inheritance, so the flat names of the file, the environment and `askdesk config
check` are unchanged; a layer receives its own validated block, never the whole object.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from pydantic import SecretStr, ValidationError

from askdesk._layout import LAYERS
from askdesk.core.compose import ExtractiveComposer
from askdesk.core.llm_compose import build_llm_composer
from askdesk.dashboard.decision import Thresholds
from askdesk.retrieval.fusion import FusionConfig
from askdesk.settings import (
    BLOCKS,
    DeskSettings,
    LLMSettings,
    RulesSettings,
    SearchSettings,
    Settings,
    SlackSettings,
)
from askdesk.testing.lean_runs import ROOT, clean_env

BLOCK_MODULES = (
    "askdesk.retrieval.search_settings",
    "askdesk.core.answer_settings",
    "askdesk.core.llm_settings",
    "askdesk.styling.style_settings",
    "askdesk.dashboard.dashboard_settings",
    "askdesk.bots.chat_settings",
    "askdesk.retrieval.source_settings",
)
# what a settings block must never drag into `askdesk ask` and every other command
NOT_FOR_SETTINGS = (
    "requests", "openai", "dash", "lancedb", "sqlalchemy", "slack_bolt", "discord",
    "numpy", "bs4", "pyarrow", "onnxruntime", "torch",
    "askdesk.core.llm_compose", "askdesk.core.engine", "askdesk.retrieval.web",
    "askdesk.retrieval.gitsource", "askdesk.retrieval.search", "askdesk.bots.slack.app",
    "askdesk.dashboard.app", "askdesk.styling.generation.rewrite",
)  # fmt: skip


def test_every_setting_is_declared_in_exactly_one_block() -> None:
    owners: dict[str, list[str]] = {}
    for block in BLOCKS:
        own = set(block.model_fields) - set().union(
            *(b.model_fields for b in block.__mro__[1:] if hasattr(b, "model_fields"))
        )
        for name in own:
            owners.setdefault(name, []).append(block.__name__)
    assert {n: o for n, o in owners.items() if len(o) > 1} == {}
    assert set(owners) == set(Settings.model_fields)  # Settings declares none of its own
    for block in BLOCKS:  # one source of truth: the assembled default is the block's
        for name, info in block.model_fields.items():
            assert Settings.model_fields[name].default == info.default, name
    # the flat order users know: where things are kept first, then search, answers, …
    assert list(Settings.model_fields)[:2] == ["data_dir", "docs_dir"]


def test_a_layer_gets_a_validated_copy_of_its_block_only(monkeypatch) -> None:
    monkeypatch.setenv("ASKDESK_SEARCH_MODE", "fts")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-platform-name")
    s = Settings(text_weight=0.7, top_k=9, llm_api_key="sk-x", tone_target=0.4)

    search = s.block(SearchSettings)
    assert type(search) is SearchSettings and not hasattr(search, "top_k")
    assert search.fusion() == FusionConfig(mode="fts", text_weight=0.7)
    slack = s.block(SlackSettings)
    assert isinstance(slack.slack_bot_token, SecretStr)
    assert slack.slack_bot_token.get_secret_value() == "xoxb-from-the-platform-name"
    assert s.block(RulesSettings).thresholds() == Thresholds(tone_target=0.4)
    assert s.block(DeskSettings).data_dir == s.data_dir

    # core gets the llm block, and reads it as a typed object (no getattr on the settings)
    composer = build_llm_composer(s.block(LLMSettings), fallback=ExtractiveComposer())
    assert composer.config.api_key == "sk-x" and composer.config.stream is True

    with pytest.raises(TypeError, match="not a settings block"):
        s.block(FusionConfig)  # type: ignore[arg-type]


def test_a_block_validates_like_the_settings() -> None:
    with pytest.raises(ValidationError):
        SearchSettings(search_mode="semantic")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Settings(search_mode="semantic")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="docs_url_template must contain"):
        Settings(docs_url_template="https://docs.example.com/")
    with pytest.raises(ValidationError, match="not a host"):
        Settings(dashboard_allowed_hosts="http://x/y")


def test_settings_and_blocks_stay_light() -> None:
    """The blocks are imported by every command, `askdesk ask` included: pydantic, no
    engines, clients or servers (a fresh interpreter, by what it actually imported)."""
    script = (
        "import importlib, json, sys\n"
        f"for m in {[*BLOCK_MODULES, 'askdesk.settings']!r}: importlib.import_module(m)\n"
        f"print(json.dumps(sorted(m for m in {NOT_FOR_SETTINGS!r} if m in sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=clean_env(ROOT / ".askdesk-unused"),
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_lower_layers_never_see_the_settings_module() -> None:
    """The blocks live in their layers and import nothing from the shell (`askdesk.settings`,
    `askdesk.wiring`, …), only from their own layer and below."""
    for module in BLOCK_MODULES:
        path = ROOT / (module.removeprefix("askdesk.").replace(".", "/") + ".py")
        text = path.read_text()
        shell = [
            line
            for line in text.splitlines()
            if line.startswith(("from askdesk", "import askdesk"))
            and (line.split()[1] + ".").split(".")[1] not in LAYERS
        ]
        assert shell == [], module
