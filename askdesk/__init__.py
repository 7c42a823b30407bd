"""The shell: CLI, settings and the wiring that builds engines and stores from settings."""
