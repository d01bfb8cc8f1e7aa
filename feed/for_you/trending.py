"""Trending: engagement observed against engagement expected, decaying with a half-life.

Anchored on Mastodon's trending posts (app/models/trends/statuses.rb): expected = 1, observed =
boosts + favourites, nothing below a threshold of 5, score = (observed - expected)^2 / expected,
multiplied by 0.5^(age / half-life) with a half-life of 2 hours, dropped below 0.3. Here:

- observed = likes + comments + 2 x published remixes (a remix is the strongest sign that a video
  inspired someone to create); views are left out: autoplay inflates them.
- threshold 3 and a half-life of 6 hours: a site of short videos has fewer posts than a Mastodon
  server has statuses, so a trend lives a little longer.

The decayed score changes every second, but its ORDER does not: score x 0.5^((now - t)/h) =
score x 2^(t/h) x 2^(-now/h), and the last factor is the same for every video. So each video stores
the time-invariant key log2(score) + t/h (`Video.trending_score`), written when a signal changes
its counters; "hottest now" is an index scan on that key, and the decayed score at any moment is
2^(key - now/h), with no periodic job rewriting every row.
"""
from __future__ import annotations

import math
from datetime import datetime

EXPECTED = 1.0
THRESHOLD = 3
HALF_LIFE_HOURS = 6.0
DECAY_FLOOR = 0.3  # below this decayed score a video no longer trends (Mastodon's decay_threshold)
REMIX_WEIGHT = 2


def observed(*, likes: int, comments: int, remixes: int) -> int:
    return likes + comments + REMIX_WEIGHT * remixes


def hours(moment: datetime) -> float:
    return moment.timestamp() / 3600.0


def trending_key(*, likes: int, comments: int, remixes: int, published_at: datetime | None) -> float | None:
    """The stored key, or None when the video does not trend at all (below the threshold)."""
    seen = observed(likes=likes, comments=comments, remixes=remixes)
    if published_at is None or seen < THRESHOLD or seen <= EXPECTED:
        return None
    score = (seen - EXPECTED) ** 2 / EXPECTED
    return math.log2(score) + hours(published_at) / HALF_LIFE_HOURS


def decayed_score(key: float | None, *, now: datetime) -> float:
    """The Mastodon-style decayed score at `now` from a stored key (0 when not trending)."""
    if key is None:
        return 0.0
    return 2.0 ** (key - hours(now) / HALF_LIFE_HOURS)


def key_floor(*, now: datetime) -> float:
    """Keys below this have decayed under DECAY_FLOOR at `now`: they no longer trend."""
    return math.log2(DECAY_FLOOR) + hours(now) / HALF_LIFE_HOURS
