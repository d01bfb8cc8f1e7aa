"""For You candidates: every source read in ONE statement, from ONE compiled visibility read.

Each source is the same read (the visibility gate, the seen-filter, hidden and served ids: the
`base` queryset) with one more condition, its own order and a LIMIT. Built as separate Django
querysets, each of the five cloned and compiled the gate's large WHERE tree again: ~2 ms of Python
apiece, more than PostgreSQL needed to plan and run it (measured 0.3 + 0.5 ms). Here the base is
compiled by Django (so the gate stays the one source of truth) once per shape and process
(`compiled`, below), and each source becomes
`SELECT * FROM (<base> AND (<condition>) ORDER BY <key> DESC LIMIT n)`, joined with UNION ALL.
PostgreSQL still plans every branch on its own (an ordered index scan that stops at its LIMIT),
on every call unless the statement runs prepared (`statement_cursor`); SQLite runs the same text.
Conditions are fixed SQL over this model's columns, values are always parameters (but the
choices' values: `compiled`).
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone as dt_timezone

from django.db import connection
from django.utils.dateparse import parse_datetime

from accounts.models import Follow

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


def any_of(values: list) -> tuple[str, list]:
    """SQL and params: the column is one of these values. On PostgreSQL one array parameter
    (`= ANY(%s)`), so the statement's text is the same however many there are (one prepared
    statement, not one per count); elsewhere `IN (%s, ...)`."""
    if connection.vendor == "postgresql":
        return "= ANY(%s)", [list(values)]
    return f"IN ({', '.join(['%s'] * len(values))})", list(values)


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


# --- Compiled once per shape --------------------------------------------------------------------
#
# A page built from scratch needs three reads compiled by Django: the visibility gate
# (feed.selectors.video_visible_qs, the one source of truth), the feed's own conditions (published,
# not held, not seen, not hidden, not served: build.py) and the viewer's follows as a subquery.
# Building and compiling those querysets cost ~1.8 ms of Python a page (measured at 1M likes: the
# gate ~1.1, the feed's conditions ~0.6), though their text depends only on the backend and the
# viewer's kind (anonymous, signed in, staff) and the number of ids in their lists (blocks, served);
# every value that differs between viewers is a parameter. So each shape is compiled once per
# process, for a stand-in viewer whose key and list items are sentinel numbers no row has, and
# each page fills in its own values where the sentinels were. The fixed values that are choices
# (status 'published', visibility 'public'...: lower-case words) are written into the text instead
# of sent as parameters, so that PostgreSQL can match the partial indexes (`WHERE status =
# 'published'`) in a plan made before it knows the parameters: the generic plan of a prepared
# statement (`_cursor`). tests/feed/test_for_you_compiled.py checks the filled-in result against
# Django compiling the same reads for real viewers.

_VIEWER = -7_300_000_001  # the stand-in viewer's key (keys are positive)
_ITEM = -7_400_000_001  # the stand-in list's items: _ITEM, _ITEM - 1, ...
_TEMPLATES: dict[tuple, tuple[str, tuple]] = {}
_TEMPLATES_MAX = 512  # shapes kept (each a few kB); past it the cache starts again
_CONST, _KEY, _LIST_ITEM = range(3)


def compiled(name: str, build, *, viewer, items=()) -> tuple[str, list]:
    """(sql, params) of the queryset `build(viewer, items)` as Django compiles it, compiled once
    per (name, backend, viewer's kind, len(items)). `build` may use the viewer's key and the items
    only as values (the viewer is an unsaved stand-in with the same kind)."""
    items = list(items)
    authenticated = bool(viewer.is_authenticated)
    staff = authenticated and bool(viewer.is_staff)
    key = (name, connection.vendor, authenticated, staff, len(items))
    template = _TEMPLATES.get(key)
    if template is None:
        if len(_TEMPLATES) >= _TEMPLATES_MAX:
            _TEMPLATES.clear()
        template = _TEMPLATES[key] = _template(build, authenticated=authenticated, staff=staff, n=len(items))
    sql, slots = template
    pk = viewer.pk
    return sql, [value if kind == _CONST else pk if kind == _KEY else items[value] for kind, value in slots]


def _template(build, *, authenticated: bool, staff: bool, n: int) -> tuple[str, tuple]:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User

    stand_in = User(pk=_VIEWER, is_staff=staff) if authenticated else AnonymousUser()
    sentinels = [_ITEM - i for i in range(n)]
    sql, params = build(stand_in, sentinels).query.sql_with_params()
    tokens = _PLACEHOLDERS.split(sql)
    if sum(1 for t in tokens if t == "%s") != len(params):
        raise RuntimeError(f"For You: {build!r}: {len(params)} parameters for the placeholders of {sql!r}")
    text, slots, values = [], [], iter(params)
    for token in tokens:
        if token != "%s":
            text.append(token)
            continue
        value = next(values)
        if type(value) is int and value == _VIEWER:
            slots.append((_KEY, None))
        elif type(value) is int and _ITEM - n < value <= _ITEM:
            slots.append((_LIST_ITEM, _ITEM - value))
        elif isinstance(value, str) and _IDENTIFIER.fullmatch(value):
            text.append(f"'{value}'")  # a choice's value ('published', 'public'): written in, see above
            continue
        else:
            slots.append((_CONST, value))
        text.append("%s")
    sql = "".join(text)
    found = sum(1 for kind, _ in slots if kind == _LIST_ITEM)
    if str(_VIEWER) in sql or str(_ITEM) in sql or found != n:  # a value written into the text, or lost
        raise RuntimeError(f"For You: {build!r} does not compile to one parameter per value")
    return sql, tuple(slots)


_PLACEHOLDERS = re.compile(r"(%%|%s)")
_IDENTIFIER = re.compile(r"[a-z][a-z_]{0,31}")


def split_where(sql: str) -> tuple[str, str]:
    """(select list and FROM, WHERE) of a compiled read of Video (a staff viewer's gate has no
    WHERE at all: "1 = 1")."""
    return tuple(sql.split(" WHERE ", 1)) if " WHERE " in sql else (sql, "1 = 1")


def blocked_ids(viewer) -> set[int]:
    """accounts.selectors.user_blocked_ids (the accounts with a block between them and the viewer,
    either way: the gate's one read of its own, on every For You page), its queryset compiled by
    Django once per process (`compiled`) and run like the page's other hand-written statements
    (`statement_cursor`: prepared where the connection allows it). Building and compiling the
    queryset took ~1 ms of Python a page, several times the read itself (measured at 1M likes).
    (Not a subquery in the gate: the generic plan of the candidate statement then joined the
    follows without its index, +1 ms.)"""
    from accounts.selectors import user_blocked_ids_of

    if not viewer.is_authenticated:
        return set()
    with statement_cursor() as cursor:
        cursor.execute(*blocks_sql(viewer))
        return user_blocked_ids_of(cursor.fetchall(), user=viewer)


def blocks_sql(viewer) -> tuple[str, list]:
    """(sql, params): accounts.selectors.user_blocks_qs for a signed-in viewer, (blocker_id,
    blocked_id) rows, compiled once per process (`blocked_ids`; the signals statement of a page
    built from scratch reads them with the viewer's signals, signals.py)."""
    from accounts.selectors import user_blocks_qs

    return compiled("blocks", lambda stand_in, _: user_blocks_qs(user=stand_in), viewer=viewer)


def gate_sql(viewer, *, blocked_ids) -> tuple[str, str, tuple]:
    """The visibility gate for this viewer (feed.selectors.video_visible_qs, their follows as a
    subquery and `blocked_ids` as read once for the page): (select list and FROM, WHERE, params).
    Both reads of a page built from scratch use it: the candidate statement (`read`) and the
    page's parents (`visible_ids_sql`)."""
    from ..selectors import video_visible_qs

    def build(stand_in, blocked):
        follows = Follow.objects.filter(follower=stand_in).values("followee_id") if stand_in.is_authenticated else []
        return video_visible_qs(viewer=stand_in, followee_ids=follows, blocked_ids=blocked).order_by().values_list(*COLUMNS)

    sql, params = compiled("gate", build, viewer=viewer, items=sorted(blocked_ids))
    head, where = split_where(sql)
    return head, where, tuple(params)


def visible_ids_sql(gate: tuple[str, str, tuple], ids) -> tuple[str, list]:
    """SQL: which of these videos pass the gate (`gate_sql`: the page's parents, for the remix
    attribution)."""
    head, where, params = gate
    in_ids, ids_params = any_of(sorted(ids))
    key = column("id")
    return f"SELECT {key}{head[head.index(' FROM '):]} WHERE ({where}) AND {key} {in_ids}", [*params, *ids_params]


def prepares() -> bool:
    """Whether this connection may prepare statements server side: PostgreSQL with psycopg 3 and
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] set (settings: DATABASE_PREPARE_THRESHOLD).
    Django leaves it None, which keeps transaction-mode connection poolers (PgBouncer before 1.21,
    or without max_prepared_statements) working: a prepared statement lives in one server session,
    and such a pooler hands the next transaction to another one."""
    if connection.vendor != "postgresql":
        return False
    connection.ensure_connection()
    return getattr(connection.connection, "prepare_threshold", None) is not None


def statement_cursor():
    """A cursor for the hand-written statements of a page built from scratch: the candidates
    (`read`), the viewer's signals (signals.py) and the cards (cards.py). Where the connection may
    prepare statements (`prepares`), one that binds its parameters server side, so that psycopg
    prepares a statement once it has run `prepare_threshold` times on this connection, and
    PostgreSQL plans it once (settings.py sets the session's plan_cache_mode to
    force_generic_plan with it) instead of on every page: measured at 1M likes, the candidate
    statement 5.6 -> 3.0 ms (its custom plan took 1.3-2.1 ms to make; the generic plan is the
    same plan, the same rows). Its text must then not vary with the viewer: values are
    parameters, lists are one array (`any_of`), and the choices' values are written in
    (`compiled`) so that the generic plan can use the partial indexes. Django's own cursors bind
    client side and never prepare, whatever the option says, so nothing else changes. Either
    cursor is Django's wrapper (queries are logged and counted as usual)."""
    if not prepares():
        return connection.cursor()
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.validate_thread_sharing()
    raw = ServerBindingCursor(connection.connection)
    return _debug_cursor()(raw, connection) if connection.queries_logged else connection.make_cursor(raw)


@functools.cache
def _debug_cursor():
    from django.db.backends.postgresql.base import CursorDebugWrapper

    class DebugCursor(CursorDebugWrapper):
        """Logs the statement as sent, placeholders and parameters apart (Django's log reads the
        text with the values in from client-binding cursors, which a server-binding one has not)."""

        def debug_sql(self, sql=None, params=None, use_last_executed_query=False, many=False):
            return super().debug_sql(sql, params, use_last_executed_query=False, many=many)

    return DebugCursor


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
    with statement_cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), values)
        rows = cursor.fetchall()
    found: dict[int, Candidate] = {}
    for row in rows:
        if row[0] not in found:
            found[row[0]] = _to_candidate(row)
    return found
