"""`paperboy admin add|list|remove`: the operators who may sign in to /admin."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cli.ui import console, out, ready_database

app = typer.Typer(help="Operators who may sign in to /admin.", no_args_is_help=True)
EmailArg = Annotated[str, typer.Argument(metavar="EMAIL", help="The operator's address.")]


@app.command()
def add(
    email: EmailArg,
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from standard input (required)."),
    ] = False,
) -> None:
    """Add an operator. The password comes on standard input, never as an argument (it would
    stay in the shell's history and the process list)."""
    from models import operators, session_scope
    from models.subscribers import InvalidEmail

    if not password_stdin:
        console.print("[red]give the password on standard input with --password-stdin[/]")
        raise typer.Exit(2)
    password = sys.stdin.readline().rstrip("\r\n")
    ready_database()
    try:
        with session_scope() as session:
            operator = operators.add(session, email, password)
            console.print(f"operator {operator.email} added; sign in at /admin/login")
    except (operators.OperatorExists, InvalidEmail, ValueError) as e:
        console.print(f"[red]{e}[/]")
        raise typer.Exit(1) from e


@app.command("list")
def list_() -> None:
    """The operators, with when each last signed in."""
    from models import operators, session_scope

    ready_database()
    with session_scope() as session:
        rows = [(o.email, o.created_at, o.last_login_at) for o in operators.all_operators(session)]
    if not rows:
        console.print("no operators yet: add one with `paperboy admin add EMAIL --password-stdin`")
        return
    for email, created, last in rows:
        seen = f"last sign-in {last:%Y-%m-%d %H:%M}" if last else "never signed in"
        out.print(f"{email}  added {created:%Y-%m-%d}, {seen}", markup=False)


@app.command()
def remove(email: EmailArg) -> None:
    """Remove an operator; their sessions end at once."""
    from models import operators, session_scope

    ready_database()
    with session_scope() as session:
        removed = operators.remove(session, email)
    if not removed:
        console.print(f"[red]{email} is not an operator[/]")
        raise typer.Exit(1)
    console.print(f"operator {email} removed; their sessions are revoked")
