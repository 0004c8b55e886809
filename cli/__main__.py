"""`python -m cli`: the same command as the `paperboy` script."""

from cli.main import app

app()
