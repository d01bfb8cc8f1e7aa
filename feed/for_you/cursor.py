"""Opaque, signed page cursors: what the next page needs, bound to the viewer who got it.

For You: the ids already served in this scroll (never served twice, even before the page reports
them as viewed; the last SERVED_MAX are kept), the creators of the last 9 cards (the creator cap
holds across pages) and the position (discovery slots keep their rhythm).
Following: the (published_at, id) of the last card, for a keyset read.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.core import signing
from django.core.exceptions import ValidationError

SALT = "feed.cursor"
SERVED_MAX = 600


@dataclass
class ForYouCursor:
    served: list[int] = field(default_factory=list)
    recent_owners: list[int] = field(default_factory=list)
    position: int = 0


@dataclass
class FollowingCursor:
    published_at: datetime
    video_id: int


def _bad() -> ValidationError:
    return ValidationError({"cursor": "This cursor is not valid here; start again without one."})


def _load(token: str, *, viewer, tab: str) -> dict:
    try:
        data = signing.loads(token, salt=SALT)
    except (signing.BadSignature, ValueError, TypeError):
        raise _bad() from None
    if not isinstance(data, dict) or data.get("tab") != tab or data.get("u") != (viewer.pk if viewer.is_authenticated else None):
        raise _bad()
    return data


def _ints(value, *, limit: int) -> list[int]:
    if not isinstance(value, list) or not all(isinstance(v, int) for v in value):
        raise _bad()
    return value[-limit:]


def for_you_dump(cursor: ForYouCursor, *, viewer) -> str:
    data = {"tab": "for_you", "u": viewer.pk if viewer.is_authenticated else None,
            "s": cursor.served[-SERVED_MAX:], "o": cursor.recent_owners[-9:], "p": cursor.position}
    return signing.dumps(data, salt=SALT, compress=True)


def for_you_load(token: str | None, *, viewer) -> ForYouCursor:
    if not token:
        return ForYouCursor()
    data = _load(token, viewer=viewer, tab="for_you")
    position = data.get("p")
    if not isinstance(position, int) or position < 0:
        raise _bad()
    return ForYouCursor(_ints(data.get("s"), limit=SERVED_MAX), _ints(data.get("o"), limit=9), position)


def following_dump(cursor: FollowingCursor, *, viewer) -> str:
    data = {"tab": "following", "u": viewer.pk, "t": cursor.published_at.isoformat(), "i": cursor.video_id}
    return signing.dumps(data, salt=SALT)


def following_load(token: str | None, *, viewer) -> FollowingCursor | None:
    if not token:
        return None
    data = _load(token, viewer=viewer, tab="following")
    try:
        return FollowingCursor(datetime.fromisoformat(data["t"]), int(data["i"]))
    except (KeyError, TypeError, ValueError):
        raise _bad() from None
