"""One module per dashboard tab: each has `layout(services)` and `register(app, services)`."""
