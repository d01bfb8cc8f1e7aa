"""The ranking rules on plain data (feed/for_you/ranking.py, trending.py, attributes.py): no
database, every rule checked directly."""
import random
from datetime import datetime, timedelta, timezone

import pytest

from feed.for_you import attributes, ranking, trending

NOW = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)


def cand(i, owner, *, hours=100.0, tags=(), parent=None, key=None, likes=0):
    return ranking.Candidate(i, owner, f"u{owner}", parent, attributes.mask_of(tags), NOW - timedelta(hours=hours),
                             key, likes, 0, 0)


def test_creator_cap_holds_in_every_window_and_across_pages():
    rng = random.Random(7)
    # 60 candidates, half of them from one creator and scored highest (followed)
    pool = [cand(i, 1 if i % 2 else rng.randrange(2, 12), hours=rng.uniform(50, 200)) for i in range(60)]
    signals = ranking.Signals(followee_ids={1})
    owners, served, recent, position = [], set(), [], 0
    for _ in range(3):
        page = ranking.rank([c for c in pool if c.id not in served], signals, now=NOW, limit=10,
                            position=position, recent_owners=recent)
        served |= {r.candidate.id for r in page}
        owners += [r.candidate.owner_id for r in page]
        recent, position = (recent + [r.candidate.owner_id for r in page])[-9:], position + len(page)
    assert len(owners) == 30
    for start in range(len(owners) - 9):
        window = owners[start:start + 10]
        assert max(window.count(o) for o in set(window)) <= 2, (start, window)
    assert owners.count(1) == 6  # two in every ten: capped, not dropped


def test_page_ends_short_rather_than_break_the_cap():
    pool = [cand(i, 1) for i in range(8)] + [cand(100, 2)]
    page = ranking.rank(pool, ranking.Signals(), now=NOW, limit=8)
    assert sorted(r.candidate.owner_id for r in page) == [1, 1, 2]


def test_three_of_every_ten_slots_go_to_fresh_uploads_of_people_not_followed():
    followed = [cand(i, 100 + i % 5, hours=100) for i in range(20)]
    fresh = [cand(200 + i, 300 + i, hours=1 + i) for i in range(10)]
    page = ranking.rank(followed + fresh, ranking.Signals(followee_ids={100, 101, 102, 103, 104}), now=NOW, limit=10)
    slots = [r.slot for r in page]
    assert [i for i, s in enumerate(slots) if s == "discovery"] == [2, 5, 8]
    assert all(page[i].candidate.id >= 200 for i in (2, 5, 8))
    assert all(r.reasons[-1].signal == "discovery" for r in page if r.slot == "discovery")


def test_own_new_posts_come_first_and_do_not_count_for_the_cap():
    own = [cand(900, 9, hours=0.1)]
    page = ranking.rank([cand(i, 1) for i in range(5)], ranking.Signals(), now=NOW, limit=4, own=own)
    assert page[0].slot == "own" and page[0].reasons[0].signal == "own"
    assert [r.candidate.owner_id for r in page[1:]] == [1, 1]


def test_score_is_the_sum_of_its_reasons_and_each_signal_points_the_right_way():
    signals = ranking.Signals(
        followee_ids={5}, liked_ids={42},
        taste={"colour:purple": 0.6, "shape:circle": 0.5},
        see_less_attributes={"background:black": 2}, see_less_owners={6: 1},
        steering={"motion:falling": 2.0, "colour:red": -1.0},
    )
    hot_key = trending.trending_key(likes=30, comments=3, remixes=2, published_at=NOW - timedelta(hours=5))
    c = cand(1, 5, hours=5, parent=42, key=hot_key, likes=30,
             tags=("colour:purple", "shape:circle", "motion:falling", "background:black"))
    total, reasons = ranking.score(c, signals, now=NOW)
    by = {r.signal: r.weight for r in reasons}
    assert total == pytest.approx(sum(by.values()))
    assert by["follow"] == ranking.FOLLOW and by["remix_of_liked"] == ranking.REMIX_OF_LIKED
    assert by["similar"] == pytest.approx(ranking.SIMILAR * 1.1)
    assert by["steering"] == pytest.approx(ranking.STEERING * 2.0)
    assert by["see_less"] == pytest.approx(-ranking.SEE_LESS_ATTRIBUTE * 2)
    assert 0 < by["trending"] <= ranking.TRENDING_MAX and 0 < by["fresh"] < ranking.FRESH_MAX
    assert "see_less_creator" not in by
    other = cand(2, 6, tags=("colour:red",))
    total, reasons = ranking.score(other, signals, now=NOW)
    assert {r.signal for r in reasons} == {"steering", "see_less_creator"} and total < 0
    # a colour chip means the colour anywhere: a red background counts too; a background chip does not spread
    on_red = cand(3, 7, tags=("colour:white", "background:red"))
    assert [r.weight for r in ranking.score(on_red, signals, now=NOW)[1]] == [pytest.approx(-ranking.STEERING)]
    only_backgrounds = ranking.Signals(steering={"background:white": 1.0})
    assert ranking.score(cand(4, 7, tags=("colour:white",)), only_backgrounds, now=NOW)[1] == []


def test_trending_key_orders_like_the_decayed_score_at_any_moment():
    rng = random.Random(3)
    videos = [(rng.randrange(0, 60), rng.randrange(0, 10), rng.randrange(0, 5), NOW - timedelta(hours=rng.uniform(0, 72)))
              for _ in range(200)]
    keyed = [(trending.trending_key(likes=l, comments=c, remixes=r, published_at=t), l, c, r, t) for l, c, r, t in videos]
    keyed = [k for k in keyed if k[0] is not None]
    for later in (0, 5, 30):
        at = NOW + timedelta(hours=later)
        by_key = sorted(keyed, key=lambda k: -k[0])
        # Mastodon's formula, evaluated directly at `at`
        direct = [((trending.observed(likes=l, comments=c, remixes=r) - 1) ** 2) * 0.5 ** ((at - t).total_seconds() / 3600 / trending.HALF_LIFE_HOURS)
                  for _, l, c, r, t in by_key]
        assert direct == sorted(direct, reverse=True)
        assert [trending.decayed_score(k[0], now=at) for k in by_key] == pytest.approx(direct)
    assert trending.trending_key(likes=2, comments=0, remixes=0, published_at=NOW) is None  # under the threshold


@pytest.mark.parametrize("prompt, expected", [
    ("a red circle moving right on a blue background", {"colour:red", "background:blue", "shape:circle", "motion:right"}),
    ("a big yellow triangle falling on a purple background",
     {"size:big", "colour:yellow", "shape:triangle", "motion:falling", "background:purple"}),
    ("a white circle to the left of a red square", {"colour:white", "colour:red", "shape:circle", "shape:square", "scene:pair"}),
    ("a green square falling down and bouncing behind a gray wall",
     {"colour:green", "shape:square", "motion:falling", "scene:wall"}),
    ("@ann standing still on a black background", {"cameo", "motion:still", "background:black"}),
])
def test_prompt_tags(prompt, expected):
    assert set(attributes.attributes_of(attributes.prompt_tags(prompt))) == expected


@pytest.mark.parametrize("text, expected", [
    ("more bouncing circles, less purple", {"motion:falling": 1.0, "shape:circle": 1.0, "colour:purple": -1.0}),
    ("no triangles", {"shape:triangle": -2.0}),
    ("lots of green and blue squares", {"colour:green": 2.0, "colour:blue": 2.0, "shape:square": 2.0}),
    ("+big -small", {"size:big": 1.0, "size:small": -1.0}),
    ("fewer purple backgrounds", {"background:purple": -1.0}),
    ("more things moving left but no walls", {"motion:left": 1.0, "scene:wall": -2.0}),
])
def test_steering_text_becomes_weighted_attributes(text, expected):
    assert attributes.parse_steering(text).weights == expected


def test_bit_positions_are_a_stored_contract():
    assert attributes.ATTRIBUTES[:3] == ["colour:red", "colour:orange", "colour:yellow"]
    assert attributes.ATTRIBUTES.index("cameo") == 29 and len(attributes.ATTRIBUTES) == 30
    assert set(attributes.COLOURS) == set(__import__("generation.dit.world", fromlist=["COLOURS"]).COLOURS)
