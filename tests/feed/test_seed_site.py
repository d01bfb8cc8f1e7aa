"""`manage.py seed_site`: a small site with the requested sizes, consistent counters, lineage paths
and trending keys, and prompts the normalizer reads the way the seed tagged them."""
import random

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count

from accounts.models import Follow, User
from feed.for_you import attributes, trending
from feed.management.commands.seed_site import seed_prompt
from feed.models import Comment, Like, Video, VideoView

pytestmark = pytest.mark.django_db


def test_seed_fills_a_consistent_site():
    call_command("seed_site", users=60, videos=400, likes=2000, bench_follows=30, seed=5, stdout=open("/dev/null", "w"))
    bench = User.objects.get(username="bench")
    assert User.objects.count() == 60 and Video.objects.count() == 400 and Like.objects.count() == 2000
    assert Follow.objects.filter(follower=bench).count() == 30 and bench.check_password("spacetime-seed")
    assert Comment.objects.count() == 200 and VideoView.objects.count() >= 2000
    # every like is also a view (the seen-filter and the watch-time signal agree with likes)
    liked = set(Like.objects.values_list("user_id", "video_id"))
    assert liked <= set(VideoView.objects.values_list("user_id", "video_id"))
    # denormalized counters equal the rows, trending keys follow the formula
    for video in Video.objects.annotate(n_likes=Count("likes", distinct=True), n_comments=Count("comments", distinct=True)):
        assert (video.stats_likes, video.stats_comments) == (video.n_likes, video.n_comments)
        posted_remixes = Video.objects.filter(parent=video, status=Video.Status.PUBLISHED).count()
        assert video.stats_remixes == posted_remixes
        expected = trending.trending_key(likes=video.stats_likes, comments=video.stats_comments,
                                         remixes=video.stats_remixes, published_at=video.published_at)
        assert video.trending_score == (pytest.approx(expected) if expected is not None else None)
    # remix chains: the materialized path is the parent's path plus the parent
    remixes = Video.objects.exclude(parent=None).select_related("parent")
    assert remixes.count() > 40
    for video in remixes:
        assert video.lineage_path == video.parent.descendant_prefix and video.depth == video.parent.depth + 1
    assert Video.objects.filter(depth__gte=2).exists()
    # the placeholder media exist, one clip per colour, shape and background
    sample = Video.objects.first()
    assert default_storage.exists(sample.file.name) and default_storage.exists(sample.poster.name)
    with pytest.raises(CommandError, match="already seeded"):
        call_command("seed_site", users=10, videos=10, likes=10, bench_follows=5)


def test_seed_prompts_are_read_as_tagged():
    """The seed tags videos from what it drew; the normalizer must read every phrasing the same."""
    words = random.Random(11)
    for _ in range(150):
        colour = words.randrange(8)
        background = words.choice([b for b in range(8) if b != colour])  # as the seed draws them
        prompt, tags = seed_prompt(words, colour, words.randrange(3), words.randrange(2), words.randrange(6),
                                   background, words.randrange(3))
        assert set(attributes.attributes_of(attributes.prompt_tags(prompt))) == tags, prompt
