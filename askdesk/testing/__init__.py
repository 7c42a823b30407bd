"""Test doubles for askdesk and its plugins: real protocols on 127.0.0.1, real clients unmodified.

Teams writing a composer, a source, a chat surface or a tone scorer test against these, as
askdesk's own tests and benches do (ARCHITECTURE.md, "Testing a plugin"):

- `fake_slack`: the Slack Web API (and Socket Mode) on loopback; slack-sdk/slack-bolt talk to
  it unmodified. `slack_payloads`: Slack request bodies and the v0 request signature.
- `fake_discord`: the Discord REST API and gateway on loopback, for discord.py unmodified.
- `fake_openai`: a scripted OpenAI-compatible server (chat completions, streaming, faults).
- `s3_loopback`: a real S3 API (`moto_server`, from the `dev` extra) on a free port.
- `docsite`: a documentation website (ETags, 304s, robots.txt, sitemaps).
- `pg_fleet` / `pg_private`: a throwaway PostgreSQL database per test / a private cluster.
- `lean_runs`: real `askdesk` processes, and which modules they imported.

These modules may import test-only libraries (pytest, aiohttp's server, moto's binary): the
product never imports `askdesk.testing` (tests/test_plugins.py checks it), so none of that is
on the runtime's import path.
"""
