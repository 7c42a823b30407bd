"""The Slack adapter: Slack events in, SupportDesk calls out, Block Kit answers back.

Modules: `app` (the Bolt listeners: payloads → `Incoming` / `Click` for the delivery core in
`askdesk.bots.delivery`), `surface` (the core's actions as Web API calls), `blocks` (Block Kit and
mrkdwn), `config` (token checks, the Web API client), `run` (Socket Mode and HTTP mode
servers), `service` (start, serve, drain, stop). `manifest.yaml` is the app manifest.
"""
