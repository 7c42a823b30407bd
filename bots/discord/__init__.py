"""Discord adapter: mentions, DMs, replies and `/ask` in; answers with sources and votes out.

`build_bot` makes the client, `serve`/`run` start it with one-line startup errors. Only this
package imports discord.py; the answer core sees plain `Question`s through `SupportDesk`.
"""

from askdesk.bots.discord.bot import AskdeskBot, build_bot
from askdesk.bots.discord.run import StartupError, run, serve

__all__ = ["AskdeskBot", "StartupError", "build_bot", "run", "serve"]
