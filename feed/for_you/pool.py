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

The viewer's signals are cached beside the pool, written with it and kept as long as a stale pool
may be served (`POOL_MAX_SECONDS`), and forgotten by the same writes: a pool that ran out (or
was evicted) is rebuilt without reading them again.

A pool serves at most `POOL_CARDS` cards past the ones served when it was built, and a page it
cannot fill is built from scratch instead: its candidates came with per-source LIMITs, so deep
pages read new ones like before. Anonymous visitors are not pooled. A cache that fails (Redis
down) only costs the from-scratch path.

Stale-while-revalidate. A pool older than `POOL_SECONDS` is still served (its cards go through
the same gate, seen-filter and hidden checks as a fresh one's, so staleness only ever means "the
ranking of a minute or two ago", never "a card that may not be shown") and a rebuild is sent to
Celery (`feed.tasks.for_you_pool_rebuild`, queue "cpu") with `transaction.on_commit`, like the rest
of the project sends its messages. That never runs the rebuild inside the request: the project
does not configure `task_always_eager`; the embedded default's broker is in-process
(`memory://`) and its worker runs in a thread of its own (generation/embedded.py), with Redis it
is any `celery -A config worker -Q cpu`. (A short-lived thread per rebuild was the other choice:
it would run on the web process's cores and hold a database connection there; a task can run
anywhere and retries like the others.) One rebuild per viewer is sent per `REBUILD_LOCK_SECONDS`
(`cache.add`). The viewer's own writes forget the pool (above) and, once committed, send a
rebuild too, so the page after a like or a steering change is usually placed from a fresh pool;
until that pool is there, the page is built from scratch: it never waits for the task. Past `POOL_MAX_SECONDS` (the cache entry's timeout, checked again on read) the pool
is not used at all: the page is built from scratch, as before.

Races: every invalidation writes a new random generation token for the viewer
(`_gen_key`); a pool or signals built from reads that started before it carry the older token
and are ignored. So a rebuild that read the viewer's rows just before their like cannot cache a
ranking without the like, and neither can a request built in between a write and its commit.
The token lives longer than any pool (`GEN_SECONDS`), so an old token never comes back.
"""
from __future__ import annotations

import logging
import time
import uuid

from django.core.cache import cache
from django.db import transaction

from . import later

log = logging.getLogger(__name__)

POOL_SECONDS = 120  # fresh: served as it is
POOL_MAX_SECONDS = 600  # stale (served, rebuilt off the request path) until then; gone after
POOL_CARDS = 100
GEN_SECONDS = POOL_MAX_SECONDS + 60
REBUILD_LOCK_SECONDS = 30
VERSION = 2  # bump when the stored shape changes: old entries are ignored


def _key(user_id: int) -> str:
    return f"feed:for_you:pool:{user_id}"


def _signals_key(user_id: int) -> str:
    return f"feed:for_you:signals:{user_id}"


def _gen_key(user_id: int) -> str:
    return f"feed:for_you:gen:{user_id}"


def _rebuild_key(user_id: int) -> str:
    return f"feed:for_you:rebuild:{user_id}"


def _stamp(viewer) -> str:
    """Binds a pool to this account, not just its id (SQLite may give a deleted account's id to a
    new one)."""
    joined = getattr(viewer, "date_joined", None)
    return f"{VERSION}:{viewer.pk}:{joined.timestamp() if joined else ''}"


def pool_read(viewer) -> tuple[dict | None, object | None, str | None]:
    """(the viewer's pool, their cached signals, the generation token to build new ones with):
    one cache round trip. The pool and signals are None when absent, from another generation, or
    (the pool) past POOL_MAX_SECONDS; a pool past POOL_SECONDS is returned: see `is_stale`."""
    if not viewer.is_authenticated:
        return None, None, None
    keys = [_key(viewer.pk), _signals_key(viewer.pk), _gen_key(viewer.pk)]
    try:
        found = cache.get_many(keys)
    except Exception:  # the cache is an optimisation: without it every page is built from scratch
        log.warning("For You pool: cache read failed", exc_info=True)
        return None, None, None
    stamp = _stamp(viewer)
    pool, signals, gen = (found.get(k) for k in keys)
    if (not isinstance(pool, dict) or pool.get("stamp") != stamp or pool.get("gen") != gen
            or time.time() - pool.get("built", 0) > POOL_MAX_SECONDS):
        pool = None
    if not isinstance(signals, tuple) or len(signals) != 3 or signals[0] != stamp or signals[1] != gen:
        signals = None
    return pool, (signals[2] if signals else None), gen


def pool_get(viewer) -> tuple[dict | None, object | None]:
    """(the viewer's pool, their cached signals), either None when absent."""
    return pool_read(viewer)[:2]


def is_stale(pool: dict, *, now: float | None = None) -> bool:
    """Older than POOL_SECONDS: still served, but a rebuild is due (`rebuild_schedule`)."""
    return (time.time() if now is None else now) - pool["built"] > POOL_SECONDS


def pool_set(viewer, *, scored: list[tuple], own: list[tuple], served: list[int], gen: str | None,
             built: float, signals=None) -> None:
    """`scored`: (id, owner_id, parent_id, score, discovery, reasons) best first, reasons as
    (signal, weight, facts) tuples; `own`: (id, owner_id, parent_id) of the viewer's new posts;
    `served`: the ids the cursor held when it was built; `gen`: the token read before its reads
    began (`pool_read`); `built`: when they began (time.time()). `signals` (ranking.Signals:
    follows, taste, likes, "see less", steering), when they were read for it, are written in the
    same round trip: they change only with the viewer's own writes, which forget them (below), so
    a page built from scratch skips reading them; full watches (views) do not forget them and join
    the taste within POOL_MAX_SECONDS."""
    if not viewer.is_authenticated:
        return
    entries = {_key(viewer.pk): {"stamp": _stamp(viewer), "gen": gen, "built": built, "served": served,
                                 "scored": scored, "own": own}}
    if signals is not None:
        entries[_signals_key(viewer.pk)] = (_stamp(viewer), gen, signals)

    def write() -> None:
        try:
            cache.set_many(entries, POOL_MAX_SECONDS)
        except Exception:
            log.warning("For You pool: cache write failed", exc_info=True)

    # once the response is sent (later.py): the page it was built for does not read it. The token
    # `gen` was read before the pool's reads began, so a write of the viewer's in between still wins.
    later.after_response(write)


def pool_invalidate(user_id: int | None, *, rebuild: bool = True) -> None:
    """Forget this user's pool and signals now and once the current transaction commits (a page
    built in between from the old rows would otherwise be cached again). If they had a pool
    (they use For You), a rebuild is sent once the write is committed (`rebuild_schedule`): the
    next page uses the new pool if it is ready, and builds from scratch if not; it waits for
    nothing."""
    if not user_id:
        return
    had_pool = []

    def forget() -> None:
        try:
            cache.set(_gen_key(user_id), uuid.uuid4().hex, GEN_SECONDS)  # before the delete: see the docstring
            had_pool.append(cache.delete(_key(user_id)))
            cache.delete(_signals_key(user_id))
        except Exception:
            log.warning("For You pool: cache delete failed", exc_info=True)

    def forget_and_rebuild() -> None:
        forget()
        if rebuild and any(had_pool):
            rebuild_schedule(user_id, force=True)

    forget()
    transaction.on_commit(forget_and_rebuild)


def pool_expire(user_id: int) -> None:
    """Forget the pool only, as passing POOL_MAX_SECONDS does (the benchmark's "cold" pages)."""
    cache.delete(_key(user_id))


def pool_age(user_id: int, seconds: float) -> bool:
    """Make the cached pool `seconds` old (tests and the benchmark's stale pages); also forgets
    a pending rebuild's lock, so the next stale page sends one again."""
    pool = cache.get(_key(user_id))
    if not isinstance(pool, dict):
        return False
    pool["built"] = time.time() - seconds
    cache.set(_key(user_id), pool, POOL_MAX_SECONDS)
    cache.delete(_rebuild_key(user_id))
    return True


def rebuild_schedule(user_id: int, *, force: bool = False) -> bool:
    """Send one rebuild of this viewer's pool to Celery once the current transaction commits (at
    once outside one), unless one was sent in the last REBUILD_LOCK_SECONDS (`force`: after the
    viewer's own write, whose rebuild must read the rows committed now). True when sent."""
    try:
        if force:
            cache.set(_rebuild_key(user_id), 1, REBUILD_LOCK_SECONDS)
        elif not cache.add(_rebuild_key(user_id), 1, REBUILD_LOCK_SECONDS):
            return False
    except Exception:
        log.warning("For You pool: cache write failed", exc_info=True)
        return False

    def send() -> None:
        from ..tasks import for_you_pool_rebuild

        try:
            for_you_pool_rebuild.apply_async(args=[user_id])
        except Exception as exc:  # broker down: the stale pool serves until POOL_MAX_SECONDS
            log.warning("For You pool: rebuild not sent (%s: %s)", type(exc).__name__, exc)

    transaction.on_commit(lambda: later.after_response(send))  # the publish: after the response (later.py)
    return True


def rebuild_done(user_id: int) -> None:
    try:
        cache.delete(_rebuild_key(user_id))
    except Exception:
        log.warning("For You pool: cache delete failed", exc_info=True)


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
