"""Engine, sessions and migrations: the only place that knows where the database is."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import ARRAY, JSON, ColumnElement, Row, Table, any_, bindparam, event, insert, text
from sqlalchemy.dialects.postgresql import Insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool
from sqlmodel import Session, create_engine

from config import get_settings

MIGRATIONS = Path(__file__).parent / "migrations"
UPSERT = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}
PAGE = 5000  # ids per statement: below every database's bind-parameter limit
_JSON = json.JSONDecoder()


def json_loads(data: bytes | str):
    """A JSON column's value: `json.loads` without sniffing the encoding of the bytes
    PostgreSQL sends (UTF-8), a third less per value; a wave reads 400 of them."""
    return _JSON.decode(data if isinstance(data, str) else data.decode())


@lru_cache
def get_engine(url: str | None = None) -> Engine:
    url = url or get_settings().db_url
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            json_deserializer=json_loads,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    settings = get_settings()
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        json_deserializer=json_loads,
    )


@lru_cache
def get_probe_engine(url: str | None = None) -> Engine:
    """An engine outside the pool, for health checks: a storm that takes every pooled
    connection must not make the process look dead."""
    url = url or get_settings().db_url
    if url.startswith("sqlite"):
        return get_engine(url)
    return create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 5})


def pages(items: list, size: int = PAGE) -> Iterable[list]:
    """Consecutive slices of at most `size`: no statement carries more bound parameters than
    a database accepts."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def among(session: Session, column, ids: list[int]) -> ColumnElement[bool]:
    """`column IN ids`; on PostgreSQL `column = ANY(:ids)`, one array parameter: a page of
    thousands of ids is otherwise as many bound parameters, rendered by SQLAlchemy and
    parsed by the driver in every query (a tenth of a millisecond per reader planned)."""
    if arrays(session.get_bind()):
        return column == any_(bindparam(None, ids, type_=ARRAY(column.type)))
    return column.in_(ids)


def listed(column, name: str, on: bool) -> ColumnElement[bool]:
    """`among` for a statement built once, its list bound at each execution as `name`: with
    arrays `on` (`arrays`) `column = ANY(:name)`, else an expanding IN, which SQLAlchemy
    renders into the statement's text anew at every execution."""
    if on:
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


def arrays(bind: Connection | Engine) -> bool:
    """Whether a list goes into a statement as one array parameter (PostgreSQL)."""
    return bind.dialect.name == "postgresql"


def upsert(session: Session, table: Table) -> Insert:
    """An INSERT that can say ON CONFLICT, in the session's database's dialect (PostgreSQL
    and SQLite both speak it; SQLAlchemy's core INSERT does not)."""
    dialect = session.get_bind().dialect.name
    if dialect not in UPSERT:
        raise RuntimeError(f"Paperboy supports PostgreSQL and SQLite, not {dialect}")
    return UPSERT[dialect](table)


def insert_new(
    session: Session, table: Table, rows: list[dict], *, unique: list[str], returning: list[str]
) -> list[Row]:
    """INSERT of plain rows (every row the same keys) but those that conflict on `unique`
    (another writer's, kept), returning the `returning` columns of the rows inserted. On
    PostgreSQL one short statement whatever the number of rows, each column's values one array
    (`unnest`), or one value when every row has the same (a planned digest's status, times
    and counters): thousands of bound parameters in a statement as long as the rows cost the
    driver more to parse than the database takes to insert them. Elsewhere an executemany."""
    if not rows:
        return []
    conn = session.connection()
    out = [table.c[name] for name in returning]
    if conn.dialect.name != "postgresql":
        statement = upsert(session, table).on_conflict_do_nothing(index_elements=unique)
        return list(conn.execute(statement.returning(*out), rows))
    names, quote = list(rows[0]), conn.dialect.identifier_preparer.quote
    columns = {name: [r[name] for r in rows] for name in names}
    same = {name for name, values in columns.items() if values.count(values[0]) == len(rows)}
    if same == set(names):
        same = set()  # nothing to unnest: the rows as arrays, however alike
    params, selected, arrays = {}, [], []
    for name, values in columns.items():  # as the column's type binds them (aware times, enums)
        process = table.c[name].type.bind_processor(conn.dialect)
        sql_type = conn.dialect.type_compiler_instance.process(table.c[name].type)
        if name in same:
            params[name] = process(values[0]) if process else values[0]
            selected.append(f"CAST(:{name} AS {sql_type})")
        else:
            params[name] = [process(v) for v in values] if process else values
            selected.append(f"u.{quote(name)}")
            arrays.append(f"CAST(:{name} AS {sql_type}[])")
    varying = ", ".join(quote(name) for name in names if name not in same)
    statement = text(
        f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, names))}) "
        f"SELECT {', '.join(selected)} FROM unnest({', '.join(arrays)}) AS u({varying}) "
        f"ON CONFLICT ({', '.join(map(quote, unique))}) DO NOTHING "
        f"RETURNING {', '.join(quote(c.name) for c in out)}"
    )
    return list(conn.execute(statement, params))


def insert_rows(
    session: Session, table: Table, names: Sequence[str], rows: Sequence[Sequence]
) -> None:
    """Bulk INSERT of plain rows (tuples of the `names` columns) that conflict with nothing.
    On PostgreSQL one COPY: no statement to parse nor thousands of parameters to bind, for the
    picks an edition's planning writes by the million, and a JSON value the rows share (the
    same object: an edition's few reason lists) encoded once; elsewhere an executemany."""
    if not rows:
        return
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), [dict(zip(names, row, strict=True)) for row in rows])
        return
    as_json = [i for i, n in enumerate(names) if isinstance(table.c[n].type, JSON)]
    encoded: dict[int, str] = {}  # by identity: a value the rows share is encoded once
    quote = conn.dialect.identifier_preparer.quote
    command = f"COPY {quote(table.name)} ({', '.join(map(quote, names))}) FROM STDIN"
    with conn.connection.driver_connection.cursor() as cursor, cursor.copy(command) as copy:
        for row in rows:
            if as_json:
                row = list(row)
            for i in as_json:
                if row[i] is not None:  # the rows hold each value, so its id is its own
                    key = id(row[i])
                    if key not in encoded:
                        encoded[key] = json.dumps(row[i])
                    row[i] = encoded[key]
            copy.write_row(row)


def refresh_statistics(session: Session, *tables: Table) -> None:
    """ANALYZE these tables on PostgreSQL (SQLite needs none). A bulk load leaves the planner
    thinking a table, or today's edition in it, is as small as when it was last analysed, and
    autovacuum lags behind loads (or is off): at 200k digests of a 1M-reader edition the
    planner still walked the whole edition for every 1,000-reader lookup, 12 s each."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        quote = conn.dialect.identifier_preparer.quote
        conn.exec_driver_sql(f"ANALYZE {', '.join(quote(t.name) for t in tables)}")


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.close()


@contextmanager
def session_scope(url: str | None = None, *, bind: Connection | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on error; on `bind`, one connection
    its transactions share, when given."""
    with Session(bind or get_engine(url), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(url: str | None = None):
    from alembic.config import Config  # alembic is imported only by what migrates

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", (url or get_settings().db_url).replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Apply migrations; the same scripts run on SQLite and PostgreSQL."""
    from alembic import command

    url = url or get_settings().db_url
    get_engine(url)  # creates the SQLite directory if needed
    command.upgrade(alembic_config(url), revision)


def pending_migrations(url: str | None = None) -> bool:
    """True when the database is behind the latest migration (read-only: runs no DDL)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    url = url or get_settings().db_url
    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    with get_engine(url).connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    return current != heads
