"""askdesk: a self-hosted support bot that answers from a team's docs (ARCHITECTURE.md).

This package is the shell (CLI, settings, the wiring that builds engines and stores from
settings); the layers it wires are `askdesk.bots`, `askdesk.core`, `askdesk.dashboard`,
`askdesk.feedback`, `askdesk.retrieval` and `askdesk.styling`, whose folders sit at the top of
the repository (`askdesk._layout` says how they are found).
"""

from askdesk._layout import install_checkout_finder

install_checkout_finder()
