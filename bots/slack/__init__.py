"""The Slack adapter: Slack events in, SupportDesk calls out, Block Kit answers back.

Modules: `app` (the Bolt listeners, translation only), `answering` (👀, ask, threaded reply),
`feedback` (votes, reasons, comments, reactions, escalation), `blocks` (Block Kit and
mrkdwn), `config` (token checks, the Web API client), `run` (Socket Mode and HTTP mode),
`dedupe` (the retry guard). `manifest.yaml` is the app manifest to install it with.
"""
