"""For You ranking: score a few hundred candidates, then place them with the diversity rules.

Pure Python over plain data (no database), so every rule is tested directly. Each candidate's
score is the sum of its `Reason`s, and those same reasons are what "why am I seeing this" shows:
an explanation can never mention a signal that did not count, nor hide one that did.

Score terms (weights are the `Reason.weight`s):
  follow            +1.0   you follow the creator
  remix_of_liked    +1.2   a remix of a video you liked
  trending          up to +1.2, 0.2 x log2(1 + decayed trending score) (trending.py)
  fresh             up to +0.4, falling linearly to 0 at 48 hours old
  similar           1.2 x the share of your likes, comments and full watches that had each of the
                    video's attributes, summed (your taste in the Flatland attribute space)
  steering          0.75 x each chip's weight on an attribute the video has (a colour chip: that
                    colour as the subject or the background)
  see_less          -0.4 per earlier "see less" of a video sharing an attribute (3 at most each)
  see_less_creator  -1.0 per "see less" of this creator's videos (3 at most)
Placement: your own posts of the last hours first (page one only); then three slots in every ten
(30%) go to fresh uploads from people you do not follow (discovery); and no creator gets more than
2 cards in any 10 in a row, across pages (the cursor carries the last 9 creators).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter

from . import attributes, trending

FOLLOW = 1.0
REMIX_OF_LIKED = 1.2
TRENDING_PER_LOG2 = 0.2
TRENDING_MAX = 1.2
FRESH_MAX = 0.4
FRESH_HOURS = 48.0
SIMILAR = 1.2
STEERING = 0.75
SEE_LESS_ATTRIBUTE = 0.4
SEE_LESS_CREATOR = 1.0
SEE_LESS_CAP = 3

CREATOR_CAP = 2  # at most this many cards of one creator ...
CREATOR_WINDOW = 10  # ... in any this many consecutive cards
DISCOVERY_SLOTS = (2, 5, 8)  # positions (mod 10) kept for fresh uploads of people not followed: 30%


@dataclass(slots=True)
class Candidate:
    id: int
    owner_id: int
    owner_username: str
    parent_id: int | None
    tags: int
    published_at: datetime
    trending_key: float | None
    likes: int = 0
    comments: int = 0
    remixes: int = 0


@dataclass(slots=True)
class Reason:
    """One term of a score: which signal, its weight, and the facts it was computed from. `text`
    renders those facts for "why am I seeing this" (only for the cards shown, not the hundreds
    of candidates scored)."""

    signal: str
    weight: float
    facts: tuple = ()

    @property
    def text(self) -> str:
        return _TEXTS[self.signal](*self.facts)


@dataclass
class Signals:
    """What the feed knows about the viewer (selectors.viewer_signals reads it)."""

    viewer_id: int | None = None
    followee_ids: set[int] = field(default_factory=set)
    liked_ids: set[int] = field(default_factory=set)
    taste: dict[str, float] = field(default_factory=dict)  # attribute -> share of positive events
    taste_events: int = 0
    see_less_attributes: dict[str, int] = field(default_factory=dict)
    see_less_owners: dict[int, int] = field(default_factory=dict)
    steering: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class Ranked:
    candidate: Candidate
    score: float
    reasons: list[Reason]
    slot: str = "ranked"  # "own", "discovery" or "ranked": how it was placed


def _age_hours(candidate: Candidate, now: datetime) -> float:
    return max(0.0, (now - candidate.published_at).total_seconds() / 3600.0)


def _ago(hours: float) -> str:
    if hours < 1:
        return f"{max(1, int(hours * 60))} min ago"
    if hours < 48:
        return f"{int(hours)} h ago"
    return f"{int(hours / 24)} days ago"


def _labels(names) -> str:
    return ", ".join(attributes.label(n) for n in names)


def _steering_words(pairs) -> str:
    return ", ".join(f"{'more' if w > 0 else 'less'} {attributes.label(t)} ({w:+g})" for t, w in pairs)


_TEXTS = {
    "own": lambda: "Your new post: only you see it here",
    "follow": lambda who: f"You follow @{who}",
    "following": lambda who: f"You follow @{who}: newest first",
    "remix_of_liked": lambda: "A remix of a video you liked",
    "trending": lambda likes, comments, remixes: (
        f"Trending: {likes} likes, {comments} comments, {remixes} remixes "
        f"({trending.observed(likes=likes, comments=comments, remixes=remixes)} engagements, far above the expected)"),
    "fresh": lambda hours: f"New: posted {_ago(hours)}",
    "similar": lambda names: f"Like videos you liked: {_labels(names)}",
    "steering": lambda pairs: f"Your steering: {_steering_words(pairs)}",
    "see_less": lambda names: f"You asked to see less like this: {_labels(names)}",
    "see_less_creator": lambda who: f"You asked to see less from @{who}",
    "discovery": lambda: "A fresh upload from someone you don't follow: 3 of every 10 cards are kept for discovery",
}


def _steer_matches(attribute: str, tags: tuple[str, ...]) -> bool:
    """A chip on a colour ("less purple") means that colour anywhere: the subject or the
    background; every other chip ("purple backgrounds", "circles") means exactly its attribute."""
    if attribute in tags:
        return True
    return attribute.startswith("colour:") and f"background:{attribute[7:]}" in tags


def score(candidate: Candidate, signals: Signals, *, now: datetime, memo: dict | None = None) -> tuple[float, list[Reason]]:
    """The score of one candidate and the reasons it is made of (weights sum to the score).
    `memo`: a dict shared over one call of score_all, for the terms that depend only on the
    video's attributes (candidates share attribute sets: Flatland has a few thousand)."""
    return _Scorer(signals, now, memo)(candidate)


class _Scorer:
    """`score` for one viewer at one moment: what does not depend on the candidate (the decay at
    `now`, the viewer's positive tastes, chips and "see less" as lookups) is worked out once, not
    for each of the ~250-350 candidates of a page built from scratch (measured alone, 253
    candidates: 2.0 -> 1.55 ms)."""

    def __init__(self, signals: Signals, now: datetime, memo: dict | None = None):
        self.now = now
        self.decay = trending.hours(now) / trending.HALF_LIFE_HOURS  # as trending.decayed_score
        self.followees, self.liked, self.owners_less = signals.followee_ids, signals.liked_ids, signals.see_less_owners
        self.taste = {name: share for name, share in signals.taste.items() if share > 0}
        self.steering = list(signals.steering.items())
        self.attributes_less = signals.see_less_attributes
        self.memo = {} if memo is None else memo

    def __call__(self, candidate: Candidate) -> tuple[float, list[Reason]]:
        reasons: list[Reason] = []
        if candidate.owner_id in self.followees:
            reasons.append(Reason("follow", FOLLOW, (candidate.owner_username,)))
        if candidate.parent_id is not None and candidate.parent_id in self.liked:
            reasons.append(Reason("remix_of_liked", REMIX_OF_LIKED))
        if candidate.trending_key is not None:
            hot = 2.0 ** (candidate.trending_key - self.decay)
            if hot > 0:
                weight = min(TRENDING_MAX, TRENDING_PER_LOG2 * math.log2(1 + hot))
                reasons.append(Reason("trending", round(weight, 4),
                                      (candidate.likes, candidate.comments, candidate.remixes)))
        age = _age_hours(candidate, self.now)
        if age < FRESH_HOURS:
            reasons.append(Reason("fresh", round(FRESH_MAX * (1 - age / FRESH_HOURS), 4), (age,)))
        by_tags = self.memo.get(candidate.tags)
        if by_tags is None:
            by_tags = self.memo[candidate.tags] = self._attribute_terms(candidate.tags)
        reasons.extend(by_tags)
        owner_less = self.owners_less.get(candidate.owner_id, 0)
        if owner_less:
            reasons.append(Reason("see_less_creator", -SEE_LESS_CREATOR * min(SEE_LESS_CAP, owner_less),
                                  (candidate.owner_username,)))
        return round(sum([r.weight for r in reasons]), 4), reasons

    def _attribute_terms(self, mask: int) -> tuple[Reason, ...]:
        """The terms that depend only on the video's attributes: similar, steering, see less."""
        reasons = []
        tags = attributes.attributes_of(mask)
        taste = self.taste
        if taste:
            shared = tuple([t for t in tags if t in taste])
            if shared:
                reasons.append(Reason("similar", round(SIMILAR * sum([taste[t] for t in shared]), 4), (shared,)))
        if self.steering:
            steered = tuple([(t, w) for t, w in self.steering if _steer_matches(t, tags)])
            if steered:
                reasons.append(Reason("steering", round(STEERING * sum([w for _, w in steered]), 4), (steered,)))
        less = self.attributes_less
        if less:
            disliked = tuple([t for t in tags if t in less])
            if disliked:
                weight = -SEE_LESS_ATTRIBUTE * sum([min(SEE_LESS_CAP, less[t]) for t in disliked])
                reasons.append(Reason("see_less", round(weight, 4), (disliked,)))
        return tuple(reasons)


def _fits(owner_id: int, recent_owners: list[int]) -> bool:
    """Would one more card of this creator keep every window of 10 at 2 or fewer of theirs?"""
    return recent_owners[-(CREATOR_WINDOW - 1):].count(owner_id) < CREATOR_CAP


_BY_ID, _BY_PUBLISHED, _BY_SCORE = attrgetter("candidate.id"), attrgetter("candidate.published_at"), attrgetter("score")


def score_all(candidates: list[Candidate], signals: Signals, *, now: datetime) -> list[Ranked]:
    """Every candidate scored, best first (ties: newer, then higher id)."""
    scorer = _Scorer(signals, now)
    scored = [Ranked(c, *scorer(c)) for c in candidates]
    # three stable sorts, each on one key read in C (was one sort on a Python key of all three)
    scored.sort(key=_BY_ID, reverse=True)
    scored.sort(key=_BY_PUBLISHED, reverse=True)
    scored.sort(key=_BY_SCORE, reverse=True)
    return scored


def is_discovery(candidate: Candidate, signals: Signals, *, now: datetime) -> bool:
    """May fill a discovery slot: a fresh upload of someone the viewer does not follow."""
    return candidate.owner_id not in signals.followee_ids and _age_hours(candidate, now) < FRESH_HOURS


def rank(
    candidates: list[Candidate],
    signals: Signals,
    *,
    now: datetime,
    limit: int,
    position: int = 0,
    recent_owners: list[int] | None = None,
    own: list[Candidate] | None = None,
) -> list[Ranked]:
    """One page: the viewer's own new posts first, then the best-scored candidates, with discovery
    slots and the creator cap. `position` is how many cards earlier pages held; `recent_owners`
    their last creators, so the rules hold across page boundaries."""
    scored = score_all(candidates, signals, now=now)
    discovery = [r for r in scored if is_discovery(r.candidate, signals, now=now)]
    return place(scored, discovery, limit=limit, position=position, recent_owners=recent_owners, own=own)


def place(
    scored: list[Ranked],
    discovery: list[Ranked],
    *,
    limit: int,
    position: int = 0,
    recent_owners: list[int] | None = None,
    own: list[Candidate] | None = None,
) -> list[Ranked]:
    """Placement of already scored candidates (best first; `discovery` the ones that may fill a
    discovery slot, in the same order): own posts first, discovery slots, the creator cap."""
    page: list[Ranked] = []
    window = list(recent_owners or [])
    for c in (own or [])[:limit]:
        page.append(Ranked(c, 0.0, [Reason("own", 0.0)], slot="own"))
    taken: set[int] = set()

    def take(pool: list[Ranked]) -> Ranked | None:
        for r in pool:
            if r.candidate.id not in taken and _fits(r.candidate.owner_id, window):
                return r
        return None

    index = position
    while len(page) < limit:
        wants_discovery = index % CREATOR_WINDOW in DISCOVERY_SLOTS
        pick = (take(discovery) if wants_discovery else None)
        if pick is not None:
            pick.slot = "discovery"
            pick.reasons.append(Reason("discovery", 0.0))
        else:
            pick = take(scored)
        if pick is None:
            break  # only creators at their cap are left: a shorter page, never a flood of one
        taken.add(pick.candidate.id)
        window.append(pick.candidate.owner_id)
        page.append(pick)
        index += 1
    return page
