"""The `paperboy` command: one module per command group over the shared `cli.ui`."""
