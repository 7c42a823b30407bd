"""Token checks and the Web API client, shared by both run modes.

Checks run before anything connects, so a pasted user token or a missing app token is one
clear line at start rather than an `invalid_auth` trace from deep inside the SDK. Messages
name the variable and the expected prefix, never the value.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

DEFAULT_API_URL = "https://slack.com/api/"
WEB_LOG = "askdesk.bots.slack.web"  # the Web API client's logger

_PREFIX_NAMES = {
    "xoxb-": "a bot token",
    "xoxp-": "a user token",
    "xapp-": "an app-level token",
    "xoxe": "a refresh token",
    "xoxa-": "a workspace token",
}


class SlackConfigError(ValueError):
    """A missing or malformed Slack credential; the message is safe to print."""


def _kind(value: str) -> str:
    for prefix, name in _PREFIX_NAMES.items():
        if value.startswith(prefix):
            return name
    return "something else"


def _check(name: str, value: str | None, prefix: str, where: str) -> str:
    value = (value or "").strip()
    if not value:
        raise SlackConfigError(f"{name} is not set ({where})")
    if any(c.isspace() for c in value):
        raise SlackConfigError(f"{name} contains whitespace; paste the token again ({where})")
    if not value.startswith(prefix):
        raise SlackConfigError(
            f"{name} must start with {prefix} but looks like {_kind(value)} ({where})"
        )
    return value


def check_bot_token(token: str | None) -> str:
    return _check(
        "SLACK_BOT_TOKEN", token, "xoxb-", "the Bot User OAuth Token, under OAuth & Permissions"
    )


def check_app_token(token: str | None) -> str:
    return _check(
        "SLACK_APP_TOKEN",
        token,
        "xapp-",
        "an app-level token with connections:write, under Basic Information",
    )


def check_signing_secret(secret: str | None) -> str:
    where = "Signing Secret, under Basic Information"
    secret = (secret or "").strip()
    if not secret:
        raise SlackConfigError(f"SLACK_SIGNING_SECRET is not set (needed for --http; {where})")
    if secret.startswith(("xox", "xapp-")) or any(c.isspace() for c in secret):
        raise SlackConfigError(f"SLACK_SIGNING_SECRET is not a signing secret ({where})")
    return secret


def web_client(
    token: str, base_url: str | None = None, *, rate_limit_retries: int = 3
) -> WebClient:
    """A WebClient that waits out `429 Retry-After` instead of dropping the answer.

    `base_url` points the client at GovSlack, a proxy, or a local stand-in in tests.
    """
    url = (base_url or DEFAULT_API_URL).rstrip("/") + "/"
    client = WebClient(token=token, base_url=url, timeout=30, logger=logging.getLogger(WEB_LOG))
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=rate_limit_retries))
    return client
