"""For You candidates: every source read in ONE statement, from ONE compiled visibility read.

Each source is the same read (the visibility gate, the seen-filter, hidden and served ids: the
`base` queryset) with one more condition, its own order and a LIMIT. Built as separate Django
querysets, each of the five cloned and compiled the gate's large WHERE tree again: ~2 ms of Python
apiece, more than PostgreSQL needed to plan and run it (measured 0.3 + 0.5 ms). Here the base is
compiled once by Django (so the gate stays the one source of truth), and each source becomes
`SELECT * FROM (<base> AND (<condition>) ORDER BY <key> DESC LIMIT n)`, joined with UNION ALL.
PostgreSQL still plans every branch on its own (an ordered index scan that stops at its LIMIT);
SQLite runs the same text. Conditions are fixed SQL over this model's columns, values are always
parameters.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone as dt_timezone

from django.db import connection
from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime

from ..models import Video
from .ranking import Candidate

# No creator's username: reading it joined the accounts table in every branch (~1 ms more for
# PostgreSQL to plan, ~0.5 to run); the reasons that name the creator get it from the card's row
# (selectors._named), read for the page's 20 cards only.
COLUMNS = ("id", "owner_id", "parent_id", "tags", "published_at", "trending_score",
           "stats_likes", "stats_comments", "stats_remixes")
PUBLISHED = COLUMNS.index("published_at")


def column(name: str) -> str:
    """A quoted, table-qualified column of Video, as Django's compiler writes it."""
    qn = connection.ops.quote_name
    return f"{qn(Video._meta.db_table)}.{qn(Video._meta.get_field(name).column)}"


def all_of_any(masks: list[int]) -> str:
    """SQL: the tags hold every attribute of at least one mask (a bitwise AND, on any backend).
    Written `tags & m >= m`, the same as `= m` (tags & m is a subset of m's bits, never more than
    m): PostgreSQL guesses 0.5% of rows match an equality on an expression (so it planned a
    parallel scan, 30+ ms to start its workers) and a third for an inequality, nearer the truth for
    a viewer's favourite attributes, so it walks the recency index and stops early."""
    tags = column("tags")
    return " OR ".join(f"({tags} & %s) >= %s" for _ in masks)


def db_datetime(value: datetime):
    """A datetime as this backend compares it (SQLite stores naive UTC text)."""
    return Video._meta.get_field("published_at").get_db_prep_value(value, connection)


@dataclass
class Source:
    name: str
    condition: str  # SQL over Video's columns (see `column`), values as %s
    params: list = field(default_factory=list)
    order_by: str = "published_at"  # descending
    limit: int = 50


def _outer_columns(alias: str) -> str:
    """The select list around each branch. On PostgreSQL published_at comes as seconds since the
    epoch (float8): psycopg turns ~350 of them into numbers in C, where Django's time-zone loader
    parsed each timestamptz in Python (~1 ms a page); `_to_candidate` makes the same datetime."""
    if connection.vendor != "postgresql":
        return "*"
    qn = connection.ops.quote_name
    names = [f"{alias}.{qn(c)}" for c in COLUMNS]
    names[PUBLISHED] = f"EXTRACT(EPOCH FROM {alias}.{qn(COLUMNS[PUBLISHED])})::float8"
    return ", ".join(names)


def _to_candidate(row) -> Candidate:
    """(The creator's username is left empty: see COLUMNS.)"""
    published = row[PUBLISHED]
    if isinstance(published, float):  # PostgreSQL: the epoch (exact to the microsecond in a double)
        published = datetime.fromtimestamp(published, tz=dt_timezone.utc)
    elif isinstance(published, str):  # SQLite: text; the gate only lets published (dated) videos through
        published = parse_datetime(published)
    if published.tzinfo is None:
        published = published.replace(tzinfo=dt_timezone.utc)
    return Candidate(row[0], row[1], "", row[2], row[3], published, *row[PUBLISHED + 1:])


def gate_sql(visible: QuerySet[Video]) -> tuple[str, str, tuple]:
    """The visibility gate compiled ONCE per page (Django's compiler, so the gate stays the one
    source of truth): (select list and FROM, WHERE, params). Both reads of a page built from
    scratch use it: the candidate statement (`read`) and the page's parents (`visible_ids_sql`);
    compiling it for each cost ~0.6 ms of Python apiece. Kept on the queryset object."""
    compiled = getattr(visible, "_for_you_gate_sql", None)
    if compiled is None:
        sql, params = visible.order_by().values_list(*COLUMNS).query.sql_with_params()
        # the select list and FROM hold no WHERE; a staff viewer's gate has none at all
        head, where = sql.split(" WHERE ", 1) if " WHERE " in sql else (sql, "1 = 1")
        compiled = visible._for_you_gate_sql = (head, where, tuple(params))
    return compiled


def where_of(qs: QuerySet[Video]) -> tuple[str, tuple]:
    """The WHERE of a small read of Video (no gate in it: cheap to compile) and its params."""
    sql, params = qs.order_by().values_list("id").query.sql_with_params()
    return (sql.split(" WHERE ", 1)[1] if " WHERE " in sql else "1 = 1"), tuple(params)


def visible_ids_sql(visible: QuerySet[Video], ids) -> tuple[str, list]:
    """SQL: which of these videos pass the gate (the page's parents, for the remix attribution)."""
    head, where, params = gate_sql(visible)
    ids = list(ids)
    key = column("id")
    return (f"SELECT {key}{head[head.index(' FROM '):]} WHERE ({where}) AND {key} IN ({', '.join(['%s'] * len(ids))})",
            [*params, *ids])


def read(base: tuple[str, str, tuple], sources: list[Source]) -> dict[int, Candidate]:
    """Candidates of every source over one base read ((select list and FROM, WHERE, params): the
    gate and the feed's own conditions), in source order, each video once."""
    if not sources:
        return {}
    head, where, params = base
    parts, values = [], []
    for i, source in enumerate(sources):
        alias = connection.ops.quote_name(f"source_{i}")
        parts.append(f"SELECT {_outer_columns(alias)} FROM ({head} WHERE ({where}) AND ({source.condition}) "
                     f"ORDER BY {column(source.order_by)} DESC LIMIT {int(source.limit)}) AS {alias}")
        values += [*params, *source.params]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), values)
        rows = cursor.fetchall()
    found: dict[int, Candidate] = {}
    for row in rows:
        if row[0] not in found:
            found[row[0]] = _to_candidate(row)
    return found
