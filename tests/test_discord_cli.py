"""`askdesk discord` as a user runs it: a real process, one `error:` line for each way it fails.

The process talks to the fake Discord (running on its own loop in this process) because a
tiny bootstrap points `Route.BASE` / `DEFAULT_GATEWAY` at it before calling the real CLI.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from askdesk.testing import fake_discord as fd

TOKEN = "MTE5OTk5OTk5OTk5OTk5OTk5OQ.Gabcde.real-looking-token-0123456789abcdefghij"
BOOT = (
    "import sys, discord, yarl; "
    "discord.http.Route.BASE = sys.argv[1]; "
    "discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(sys.argv[2]); "
    "from askdesk.cli import main; sys.argv = ['askdesk', 'discord']; main()"
)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("ASKDESK_") and "DISCORD" not in k
    }
    env.update(ASKDESK_DATA_DIR=str(tmp_path / "data"), **extra)
    return env


def _start(fake: fd.FakeDiscord | None, tmp_path: Path, **env: str) -> subprocess.Popen[str]:
    args = [fake.api_base, fake.ws_url] if fake else ["http://127.0.0.1:9/api/v10", "ws://x"]
    return subprocess.Popen(
        [sys.executable, "-c", BOOT, *args],
        cwd=tmp_path,
        env=_env(tmp_path, **env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), stderr
    return lines[0]


def test_a_missing_token_is_one_line(tmp_path):
    proc = _start(None, tmp_path)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert "DISCORD_BOT_TOKEN is not set" in _one_error_line(err)


def test_a_rejected_token_is_one_line_and_never_printed_or_logged(tmp_path):
    with fd.fake_in_thread(token="the-right-token") as fake:
        proc = _start(fake, tmp_path, DISCORD_BOT_TOKEN=TOKEN)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert "Discord rejected the bot token" in _one_error_line(err)
    log = (tmp_path / "data" / "askdesk.log").read_text()
    assert TOKEN not in err and TOKEN not in log


class _Lines:
    """Collect a process's stderr in the background, to wait for a line."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.text = ""
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self.text += line

    def wait_for(self, needle: str, timeout: float) -> None:
        end = time.monotonic() + timeout
        while needle not in self.text:
            assert time.monotonic() < end, f"no {needle!r} in time:\n{self.text}"
            time.sleep(0.1)

    def finish(self) -> str:
        self._thread.join(10)
        return self.text


@pytest.mark.slow
def test_the_bot_runs_answers_and_stops_cleanly_on_sigterm(tmp_path, sample_index):
    lancedb = sample_index[0].uri
    with fd.fake_in_thread(token=TOKEN) as fake:
        # the Message Content intent switched off in the portal: one line, after the model loads
        fake.message_content_allowed = False
        refused = _start(fake, tmp_path, DISCORD_BOT_TOKEN=TOKEN, ASKDESK_LANCEDB_URI=lancedb)
        _, err = refused.communicate(timeout=300)
        assert refused.returncode == 2
        assert "Message Content Intent" in _one_error_line(err)

        fake.message_content_allowed = True
        proc = _start(fake, tmp_path, DISCORD_BOT_TOKEN=TOKEN, ASKDESK_LANCEDB_URI=lancedb)
        lines = _Lines(proc)
        try:
            lines.wait_for("Connected to Discord as askdesk", timeout=300)
            question = fake.mention("How do I rotate my API key?")
            assert fake.loop is not None
            asyncio.run_coroutine_threadsafe(
                fake.dispatch("MESSAGE_CREATE", question), fake.loop
            ).result(10)
            end = time.monotonic() + 60
            while not fake.sent:
                assert time.monotonic() < end, lines.text
                time.sleep(0.1)
            assert "[1]" in fake.sent[0]["content"]
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
        stderr = lines.finish()
    assert "Traceback" not in stderr and TOKEN not in stderr
    assert TOKEN not in (tmp_path / "data" / "askdesk.log").read_text()
