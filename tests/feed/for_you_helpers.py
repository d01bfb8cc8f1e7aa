"""Small helpers for the For You tests: posted videos with a chosen age, read back as cards."""
from datetime import timedelta

from django.utils import timezone

from feed.for_you.attributes import prompt_tags
from feed.models import Video


def post(owner, prompt="a red circle moving right on a blue background", *, hours_ago=1.0, parent=None,
         visibility=Video.Visibility.PUBLIC, status=Video.Status.PUBLISHED, **fields) -> Video:
    """A published video (no media files: the feed reads rows, not bytes) tagged like the service tags."""
    published = timezone.now() - timedelta(hours=hours_ago)
    video = Video.objects.create(
        owner=owner, prompt=prompt, seed=1, model_version="test", status=status,
        visibility=visibility, tags=prompt_tags(prompt), parent=parent, duration_s=2.0,
        lineage_path=parent.descendant_prefix if parent else "", depth=parent.depth + 1 if parent else 0,
        **fields,
    )
    Video.objects.filter(pk=video.pk).update(published_at=published, created_at=published)
    video.refresh_from_db()
    return video


def cards(client, path="/api/feed/for-you", **params) -> tuple[list[dict], str | None]:
    res = client.get(path, params)
    assert res.status_code == 200, res.content
    body = res.json()
    return body["results"], body["next"]


def ids(entries) -> list[int]:
    return [e["video"]["id"] for e in entries]
