"""The viewer's ranked For You pool, cached (Django's cache: Redis when REDIS_URL is set).

Building a page from scratch reads the viewer's follows and signals, runs the candidate statement
and scores a few hundred candidates (~7 queries' worth of work). The scored list changes only
when the viewer's own signals change, so it is kept for `POOL_SECONDS` under the viewer's key: the
next page and a repeat visit place cards from it. What the pool does NOT decide is whether a card
may still be shown: every page re-reads its candidates through the visibility gate, the
seen-filter and hidden (`selectors._pool_check`), so a video removed, held for a revoked consent,
blocked, hidden or watched since the pool was built never comes out of it.

Invalidation: any write by the viewer that feeds the ranking (a like, a comment, "see less" or
"hide", a steering chip, a follow, a block either way, a post of their own) deletes their pool at
once and again when the transaction commits (post_save / post_delete receivers, connected in
FeedConfig.ready, so ORM writes outside the services count too; a delete receiver means Django
loads those rows before a cascade deletes them, instead of one DELETE: fine at these sizes). Videos posted by others join
the pool when it expires; views do not invalidate (the seen-filter is re-applied on every page).

The viewer's signals are cached beside the pool, longer (`SIGNALS_SECONDS`), and forgotten by the
same writes: a pool that ran out is rebuilt without reading them again.

A pool serves at most `POOL_CARDS` cards past the ones served when it was built, and a page it
cannot fill is built from scratch instead: its candidates came with per-source LIMITs, so deep
pages read new ones like before. Anonymous visitors are not pooled. A cache that fails (Redis
down) only costs the from-scratch path.
"""
from __future__ import annotations

import logging
import time

from django.core.cache import cache
from django.db import transaction

log = logging.getLogger(__name__)

POOL_SECONDS = 120
POOL_CARDS = 100
SIGNALS_SECONDS = 600
VERSION = 1  # bump when the stored shape changes: old entries are ignored


def _key(user_id: int) -> str:
    return f"feed:for_you:pool:{user_id}"


def _signals_key(user_id: int) -> str:
    return f"feed:for_you:signals:{user_id}"


def _stamp(viewer) -> str:
    """Binds a pool to this account, not just its id (SQLite may give a deleted account's id to a
    new one)."""
    joined = getattr(viewer, "date_joined", None)
    return f"{VERSION}:{viewer.pk}:{joined.timestamp() if joined else ''}"


def pool_get(viewer) -> tuple[dict | None, object | None]:
    """(the viewer's pool, their cached signals), either None when absent: one cache round trip."""
    if not viewer.is_authenticated:
        return None, None
    try:
        found = cache.get_many([_key(viewer.pk), _signals_key(viewer.pk)])
    except Exception:  # the cache is an optimisation: without it every page is built from scratch
        log.warning("For You pool: cache read failed", exc_info=True)
        return None, None
    stamp = _stamp(viewer)
    pool, signals = found.get(_key(viewer.pk)), found.get(_signals_key(viewer.pk))
    if not isinstance(pool, dict) or pool.get("stamp") != stamp:
        pool = None
    if not isinstance(signals, tuple) or len(signals) != 2 or signals[0] != stamp:
        signals = None
    return pool, (signals[1] if signals else None)


def signals_set(viewer, signals) -> None:
    """The viewer's signals (ranking.Signals: follows, taste, likes, "see less", steering) change
    only with their own writes, which forget them (below): kept longer than the pool, so a page
    built from scratch skips reading them. Full watches (views) do not forget them: they join the
    taste within SIGNALS_SECONDS."""
    if not viewer.is_authenticated:
        return
    try:
        cache.set(_signals_key(viewer.pk), (_stamp(viewer), signals), SIGNALS_SECONDS)
    except Exception:
        log.warning("For You pool: cache write failed", exc_info=True)


def pool_set(viewer, *, scored: list[tuple], own: list[tuple], served: int) -> None:
    """`scored`: (id, owner_id, parent_id, score, discovery, reasons) best first, reasons as
    (signal, weight, facts) tuples; `own`: (id, owner_id, parent_id) of the viewer's new posts;
    `served`: how many ids the cursor held when it was built."""
    if not viewer.is_authenticated:
        return
    pool = {"stamp": _stamp(viewer), "built": time.time(), "served": served, "scored": scored, "own": own}
    try:
        cache.set(_key(viewer.pk), pool, POOL_SECONDS)
    except Exception:
        log.warning("For You pool: cache write failed", exc_info=True)


def pool_invalidate(user_id: int | None) -> None:
    """Forget this user's pool and signals now and once the current transaction commits (a page
    built in between from the old rows would otherwise be cached again)."""
    if not user_id:
        return

    def forget() -> None:
        try:
            cache.delete_many([_key(user_id), _signals_key(user_id)])
        except Exception:
            log.warning("For You pool: cache delete failed", exc_info=True)

    forget()
    transaction.on_commit(forget)


def pool_expire(user_id: int) -> None:
    """Forget the pool only, as its time running out does (the benchmark's "cold" pages)."""
    cache.delete(_key(user_id))


def _on_change(sender, instance, **kwargs) -> None:
    for field in _USER_FIELDS[sender]:
        pool_invalidate(getattr(instance, field, None))


_USER_FIELDS: dict = {}


def connect() -> None:
    """Receivers for every model whose rows feed a viewer's ranking (FeedConfig.ready)."""
    from django.db.models.signals import post_delete, post_save

    from accounts.models import Block, Follow

    from ..models import Comment, Like, SteeringChip, Video, VideoFeedback

    _USER_FIELDS.update({
        Like: ("user_id",), Comment: ("author_id",), VideoFeedback: ("user_id",), SteeringChip: ("user_id",),
        Follow: ("follower_id",), Block: ("blocker_id", "blocked_id"), Video: ("owner_id",),
    })
    for model in _USER_FIELDS:
        post_save.connect(_on_change, sender=model, dispatch_uid=f"feed.pool.save.{model.__name__}")
        if model is not Video:  # (removing a video is a status change, a save; the gate hides it anyway)
            post_delete.connect(_on_change, sender=model, dispatch_uid=f"feed.pool.delete.{model.__name__}")
