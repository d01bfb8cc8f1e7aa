"""The viewer's signals for For You, read in ONE hand-written statement: their follows (for
ranking), recent likes, comments and full watches (the taste), "see less" (videos and creators)
and steering chips.

Six small indexed reads with LIMITs, joined with UNION ALL. Built as Django querysets they cost
~2 ms of Python to compile on every page built from scratch, several times what PostgreSQL spends
planning and running them (~0.6 ms); the text depends only on the backend, so it is written out
once per backend (like the cards' statement, cards.py) and only the viewer's key is a parameter.
Every row is (read, video or followee, tags, owner, chip attribute, chip weight), the columns a
read does not have are NULL.
"""
from __future__ import annotations

import functools

from django.db import connection

from ..models import Comment, Like, SteeringChip, Video, VideoFeedback, VideoView
from . import attributes, ranking
from .candidates import blocks_sql, statement_cursor

SIGNAL_LIKES = 100
SIGNAL_COMMENTS = 50
SIGNAL_WATCHES = 100
SIGNAL_SEE_LESS = 100
# Weight of each kind of positive event in the taste vector (one video counts once, at its best).
TASTE_LIKE, TASTE_COMMENT, TASTE_WATCHED = 1.0, 0.5, 0.5

FOLLOWS, LIKES, COMMENTS, WATCHED, SEE_LESS, CHIPS, BLOCKS = range(7)


@functools.lru_cache(maxsize=8)
def _sql(vendor: str) -> str:
    """The statement; its parameters are the viewer's key six times and the "see less" kind."""
    from accounts.models import Follow

    qn = connection.ops.quote_name

    def table(model) -> str:
        return qn(model._meta.db_table)

    def col(alias: str, model, name: str) -> str:
        return f"{alias}.{qn(model._meta.get_field(name).column)}"

    def nulls(*types: str) -> str:
        return ", ".join(f"CAST(NULL AS {t})" for t in types)

    def events(no: int, model, user: str, recent: str, limit: int, where: str = "") -> str:
        return (f"SELECT * FROM (SELECT {no} AS r, {col('e', model, 'video')} AS a, {col('v', Video, 'tags')} AS b, "
                f"{col('v', Video, 'owner')} AS c, {nulls('TEXT', 'DOUBLE PRECISION')} "
                f"FROM {table(model)} e INNER JOIN {table(Video)} v ON v.{qn('id')} = {col('e', model, 'video')} "
                f"WHERE {col('e', model, user)} = %s{where} ORDER BY {col('e', model, recent)} DESC LIMIT {limit}) "
                f"AS r{no}")

    parts = [
        f"SELECT {FOLLOWS} AS r, {col('f', Follow, 'followee')} AS a, {nulls('BIGINT', 'BIGINT', 'TEXT', 'DOUBLE PRECISION')} "
        f"FROM {table(Follow)} f WHERE {col('f', Follow, 'follower')} = %s",
        events(LIKES, Like, "user", "created_at", SIGNAL_LIKES),
        events(COMMENTS, Comment, "author", "created_at", SIGNAL_COMMENTS),
        events(WATCHED, VideoView, "user", "last_viewed_at", SIGNAL_WATCHES, f" AND {col('e', VideoView, 'completed')}"),
        events(SEE_LESS, VideoFeedback, "user", "created_at", SIGNAL_SEE_LESS,
               f" AND {col('e', VideoFeedback, 'kind')} = %s"),
        # in the chips' order (their explanation lists them so); the LIMIT (one chip per attribute
        # at most) keeps the ORDER BY of a subquery on every backend
        f"SELECT * FROM (SELECT {CHIPS} AS r, {nulls('BIGINT', 'BIGINT', 'BIGINT')}, {col('s', SteeringChip, 'attribute')}, "
        f"{col('s', SteeringChip, 'weight')} FROM {table(SteeringChip)} s WHERE {col('s', SteeringChip, 'user')} = %s "
        f"ORDER BY {col('s', SteeringChip, 'created_at')}, s.{qn('id')} LIMIT {len(attributes.ATTRIBUTES)}) AS r{CHIPS}",
    ]
    return " UNION ALL ".join(parts)


def read_rows(viewer, *, blocks: bool = False) -> list[list[tuple]]:
    """The rows of each read (FOLLOWS ... CHIPS), in each read's order. `blocks`: the same
    statement also reads the viewer's blocks either way (BLOCKS: (blocker, blocked) rows of
    accounts.selectors.user_blocks_qs, as Django compiles it: candidates.blocks_sql), so that a
    page built from scratch with nothing cached reads them in the same round trip."""
    pk = viewer.pk
    sql, params = _sql(connection.vendor), [pk, pk, pk, pk, pk, str(VideoFeedback.Kind.SEE_LESS.value), pk]
    if blocks:
        blocks_read, blocks_params = blocks_sql(viewer)
        sql = (f"{sql} UNION ALL SELECT {BLOCKS} AS r, b.*, CAST(NULL AS BIGINT), CAST(NULL AS TEXT), "
               f"CAST(NULL AS DOUBLE PRECISION) FROM ({blocks_read}) AS b")
        params += blocks_params
    out: list[list[tuple]] = [[] for _ in range(7)]
    with statement_cursor() as cursor:  # prepared where the connection allows it
        cursor.execute(sql, params)
        for row in cursor.fetchall():
            out[row[0]].append(row[1:])
    return out


def viewer_signals(*, viewer) -> ranking.Signals:
    """The viewer's follows, taste (attribute shares over recent likes, comments and full
    watches), "see less" history and steering chips."""
    if not viewer.is_authenticated:
        return ranking.Signals(viewer_id=viewer.pk)
    return _signals_of(viewer, read_rows(viewer))


def viewer_signals_and_blocks(*, viewer) -> tuple[ranking.Signals, set[int]]:
    """`viewer_signals` and accounts.selectors.user_blocked_ids, read in one statement."""
    from accounts.selectors import user_blocked_ids_of

    if not viewer.is_authenticated:
        return ranking.Signals(viewer_id=viewer.pk), set()
    rows = read_rows(viewer, blocks=True)
    return _signals_of(viewer, rows), user_blocked_ids_of([row[:2] for row in rows[BLOCKS]], user=viewer)


def _signals_of(viewer, rows: list[list[tuple]]) -> ranking.Signals:
    follows, likes, comments, watched, see_less, chips = rows[:BLOCKS]
    signals = ranking.Signals(viewer_id=viewer.pk, followee_ids={row[0] for row in follows})
    best: dict[int, tuple[float, int]] = {}  # video id -> (event weight, tags)

    def note(rows, weight: float) -> None:
        for video_id, tags, *_ in rows:
            if best.get(video_id, (0.0, 0))[0] < weight:
                best[video_id] = (weight, tags)

    signals.liked_ids = {row[0] for row in likes}
    note(likes, TASTE_LIKE)
    note(comments, TASTE_COMMENT)
    note(watched, TASTE_WATCHED)
    total = sum(weight for weight, _ in best.values())
    if total:
        shares: dict[str, float] = {}
        for weight, tags in best.values():
            for name in attributes.attributes_of(tags):
                shares[name] = shares.get(name, 0.0) + weight
        signals.taste = {name: value / total for name, value in shares.items()}
        signals.taste_events = len(best)
    for _, tags, owner_id, *_ in see_less:
        signals.see_less_owners[owner_id] = signals.see_less_owners.get(owner_id, 0) + 1
        for name in attributes.attributes_of(tags):
            signals.see_less_attributes[name] = signals.see_less_attributes.get(name, 0) + 1
    signals.steering = {attribute: weight for *_, attribute, weight in chips}
    return signals
