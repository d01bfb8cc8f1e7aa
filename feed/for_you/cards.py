"""Feed cards as JSON-ready dicts, read with one `values_list` query: no model instances, no DRF
serializer. The shape is exactly `feed.api.VideoOutputSerializer`'s (and FeedPageSerializer's
around it; tests/feed/test_for_you_cards.py compares them field by field), which the API
documents and frontend/js reads. Measured on the 1M-like site: hydrating 20 cards into models
(select_related creator, parent, parent's creator) and serializing them with DRF took ~9 ms of a
~32 ms page; this takes ~1.5 ms.
"""
from __future__ import annotations

import functools
from datetime import timezone as dt_timezone

from django.db import connection
from django.db.models import Exists, OuterRef
from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from ..models import Like, Video
from .candidates import any_of, statement_cursor

_DATETIME = serializers.DateTimeField()  # the API's datetime format and time zone, exactly

_COLUMNS = (
    "id", "owner_id", "owner__username", "owner__display_name", "owner__bio", "prompt", "caption", "file",
    "poster", "width", "height", "frame_count", "fps", "duration_s", "seed", "model_version", "visibility",
    "status", "parent_id", "created_at", "published_at", "stats_likes", "stats_comments", "remix_mode",
    "allow_remix", "depth", "stats_remixes", "parent__prompt", "parent__owner__username",
)


def _url(field_name: str):
    storage = Video._meta.get_field(field_name).storage
    return lambda name: storage.url(name) if name else ""


def _when(value) -> str | None:
    return _DATETIME.to_representation(value)


def rows_of(qs, *, viewer, order_by: tuple = (), limit: int | None = None) -> list[tuple]:
    """The card rows of a video queryset, with the viewer's like."""
    columns = _COLUMNS
    if viewer.is_authenticated:
        qs = qs.annotate(liked=Exists(Like.objects.filter(video=OuterRef("pk"), user=viewer)))
        columns = (*_COLUMNS, "liked")
    qs = qs.values_list(*columns)
    if order_by:
        qs = qs.order_by(*order_by)
    return list(qs if limit is None else qs[:limit])


def video_rows(ids, *, viewer, parents=None) -> dict[int, tuple]:
    """The rows of these videos, by key alone (the caller let them through the visibility gate in
    the same request): one query, written out once per backend and number of keys (compiling
    the same queryset for every page cost ~1 ms of Python). `parents`: (sql, params) of a read of
    video keys through the gate (candidates.visible_ids_sql over the page's parents); each row then
    ends with whether its parent is in it (`parent_visible`), in the same statement."""
    ids = list(ids)
    if not ids:
        return {}
    in_ids, ids_params = any_of(ids)
    select, tables = _rows_sql(connection.vendor, in_ids, viewer.is_authenticated)
    params = [viewer.pk] if viewer.is_authenticated else []
    if parents is not None:
        parents_sql, parents_params = parents
        select = f"{select}, {_parent_column()} IN ({parents_sql})"
        params += parents_params
    sql, params = f"{select} {tables}", [*params, *ids_params]
    with statement_cursor() as cur:  # prepared where the connection allows it (candidates.py)
        cur.execute(sql, params)
        rows = cur.fetchall()
    if connection.vendor == "sqlite":  # datetimes come back as text there
        rows = [(*r[:19], _aware(r[19]), _aware(r[20]), *r[21:]) for r in rows]
    return {row[0]: row for row in rows}


def _aware(value):
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=dt_timezone.utc)
    return value


def _parent_column() -> str:
    return f"v.{connection.ops.quote_name(Video._meta.get_field('parent').column)}"


@functools.lru_cache(maxsize=256)
def _rows_sql(vendor: str, in_ids: str, with_like: bool) -> tuple[str, str]:
    """("SELECT <_COLUMNS> [, liked]", "FROM video JOIN owner LEFT JOIN parent LEFT JOIN parent's
    owner WHERE v.id IN (...)")."""
    qn = connection.ops.quote_name
    user_table = Video._meta.get_field("owner").related_model._meta.db_table
    like_table = Like._meta.db_table

    def col(alias: str, model, name: str) -> str:
        return f"{alias}.{qn(model._meta.get_field(name).column)}"

    from accounts.models import User

    columns = []
    for name in _COLUMNS:
        if name.startswith("parent__owner__"):
            columns.append(col("pu", User, name.split("__")[-1]))
        elif name.startswith("parent__"):
            columns.append(col("p", Video, name.split("__")[-1]))
        elif name.startswith("owner__"):
            columns.append(col("u", User, name.split("__")[-1]))
        else:
            columns.append(col("v", Video, name[:-3] if name.endswith("_id") and name != "id" else name))
    if with_like:
        columns.append(f"EXISTS (SELECT 1 FROM {qn(like_table)} l WHERE {col('l', Like, 'video')} = v.{qn('id')} "
                       f"AND {col('l', Like, 'user')} = %s)")
    return (f"SELECT {', '.join(columns)}", f"FROM {qn(Video._meta.db_table)} v "
            f"INNER JOIN {qn(user_table)} u ON u.{qn('id')} = {col('v', Video, 'owner')} "
            f"LEFT OUTER JOIN {qn(Video._meta.db_table)} p ON p.{qn('id')} = {col('v', Video, 'parent')} "
            f"LEFT OUTER JOIN {qn(user_table)} pu ON pu.{qn('id')} = {col('p', Video, 'owner')} "
            f"WHERE v.{qn('id')} {in_ids}")


def parent_visible(row: tuple) -> bool:
    """Read with `video_rows(..., parents=...)`: the row's last column."""
    return bool(row[-1])


def parent_id(row: tuple) -> int | None:
    return row[18]


def owner_username(row: tuple) -> str:
    return row[2]


def published_at(row: tuple):
    return row[20]


def video_data(row: tuple, *, parent_visible: bool) -> dict:
    """One video as VideoOutputSerializer writes it (same keys, same order, same types)."""
    (pk, owner_id, username, display_name, bio, prompt, caption, file, poster, width, height, frame_count,
     fps, duration_s, seed, model_version, visibility, status, parent_id, created_at, published_at, likes,
     comments, remix_mode, allow_remix, depth, remixes, parent_prompt, parent_owner) = row[:29]
    liked = bool(row[29]) if len(row) > 29 else False
    if depth == 0 and parent_id is None:
        remix_of = None
    elif parent_id is None:
        remix_of = {"hidden": True, "deleted": True, "mode": remix_mode}
    elif not parent_visible:
        remix_of = {"hidden": True, "mode": remix_mode}
    else:
        remix_of = {"hidden": False, "id": parent_id, "owner": parent_owner, "prompt": parent_prompt,
                    "mode": remix_mode}
    return {
        "id": pk,
        "owner": {"id": owner_id, "username": username, "display_name": display_name, "bio": bio},
        "prompt": prompt, "caption": caption, "url": _file_url(file), "poster_url": _poster_url(poster),
        "width": width, "height": height, "frame_count": frame_count, "fps": fps,
        "duration_s": float(duration_s), "seed": seed, "model_version": model_version,
        "visibility": visibility, "status": status,
        "parent": parent_id if parent_id and parent_visible else None,
        "created_at": _when(created_at), "published_at": _when(published_at),
        "like_count": int(likes), "comment_count": int(comments), "liked": liked,
        "remix_of": remix_of, "remix_mode": remix_mode, "allow_remix": bool(allow_remix), "depth": depth,
        "remix_count": int(remixes),
    }


_file_url = _url("file")
_poster_url = _url("poster")


def entry_data(video: dict, *, reasons, score, slot: str) -> dict:
    """One card as FeedEntrySerializer writes it."""
    reasons = [{"signal": r.signal, "weight": float(r.weight), "text": r.text} for r in reasons]
    return {"video": video, "score": None if score is None else float(score), "slot": slot,
            "reasons": reasons, "why": " · ".join(r["text"] for r in reasons)}
