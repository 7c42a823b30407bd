"""The HTTP API: a third chat surface on the delivery core (`askdesk serve`), and the
embeddable chat page a docs site includes with one `<script>` tag.

Modules: `surface` (the port's HTTP implementation), `app` (routes, auth, CORS, limits),
`keys` (API keys, hashed), `limits` (per-key rate), `openapi` (the schema), `run` (start and
stop), `build` (wiring a desk into a server), `static/chat.js` (the widget)."""
