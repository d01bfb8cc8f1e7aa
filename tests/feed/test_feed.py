import pytest

from accounts.services import user_block, user_follow
from feed import selectors, services
from feed.models import Video

pytestmark = pytest.mark.django_db


def ids(qs):
    return {v.pk for v in qs}


def test_visibility_rules(alice, bob, make_user, make_video):
    carol = make_user("carol")
    public = make_video(alice, publish="public")
    followers = make_video(alice, publish="followers")
    private = make_video(alice, publish="private")
    draft = make_video(alice)
    user_follow(follower=bob, followee=alice)

    from django.contrib.auth.models import AnonymousUser

    assert ids(selectors.feed_list(viewer=AnonymousUser())) == {public.pk}
    assert ids(selectors.feed_list(viewer=carol)) == {public.pk}
    assert ids(selectors.feed_list(viewer=bob)) == {public.pk, followers.pk}
    assert ids(selectors.feed_list(viewer=alice)) == {public.pk, followers.pk, private.pk}
    assert selectors.video_get(video_id=draft.pk, viewer=alice) is not None
    assert selectors.video_get(video_id=draft.pk, viewer=bob) is None
    assert ids(selectors.draft_list(owner=alice)) == {draft.pk}

    user_block(blocker=alice, blocked=bob)
    assert ids(selectors.feed_list(viewer=bob)) == set()


def test_feed_is_chronological(alice, make_video):
    first = make_video(alice, publish="public")
    second = make_video(alice, publish="public")
    assert [v.pk for v in selectors.feed_list(viewer=alice)] == [second.pk, first.pk]


def test_publish_rules(alice, bob, make_video):
    draft = make_video(alice)
    with pytest.raises(Exception) as exc:
        services.video_publish(video=draft, user=bob)
    assert "owner" in str(exc.value)
    video = services.video_publish(video=draft, user=alice, visibility="followers", caption="hi")
    assert video.status == Video.Status.PUBLISHED and video.published_at is not None
    with pytest.raises(Exception) as exc:
        services.video_publish(video=video, user=alice)
    assert "Only drafts" in str(exc.value)


def test_publish_api_and_errors(alice, bob, make_video, client_for):
    draft = make_video(alice)
    res = client_for(bob).post(f"/api/videos/{draft.pk}/publish", {}, format="json")
    assert res.status_code == 404  # bob cannot even see alice's draft
    res = client_for(alice).post(f"/api/videos/{draft.pk}/publish", {"visibility": "everyone"}, format="json")
    assert res.status_code == 400 and "visibility" in res.json()
    res = client_for(alice).post(f"/api/videos/{draft.pk}/publish", {"visibility": "public"}, format="json")
    assert res.status_code == 200 and res.json()["status"] == "published"
    again = client_for(alice).post(f"/api/videos/{draft.pk}/publish", {}, format="json")
    assert again.status_code == 409 and "status" in again.json()
    feed = client_for().get("/api/feed").json()
    assert [v["id"] for v in feed["results"]] == [draft.pk]
    assert feed["results"][0]["url"].endswith(".mp4")


def test_likes_and_comments(alice, bob, make_video, client_for):
    video = make_video(alice, publish="public")
    api = client_for(bob)
    res = api.post(f"/api/videos/{video.pk}/like")
    assert res.status_code == 200 and res.json()["like_count"] == 1 and res.json()["liked"] is True
    assert api.delete(f"/api/videos/{video.pk}/like").json()["like_count"] == 0
    assert api.post(f"/api/videos/{video.pk}/comments", {"body": "  "}, format="json").json() == {
        "body": ["Write something first."]
    }
    assert api.post(f"/api/videos/{video.pk}/comments", {"body": "x" * 1001}, format="json").status_code == 400
    res = api.post(f"/api/videos/{video.pk}/comments", {"body": "wow"}, format="json")
    assert res.status_code == 201
    comment_id = res.json()["id"]
    listing = client_for().get(f"/api/videos/{video.pk}/comments").json()
    assert [c["body"] for c in listing["results"]] == ["wow"]
    carol_api = client_for(alice)  # the video's owner may delete comments on it
    assert carol_api.delete(f"/api/videos/{video.pk}/comments/{comment_id}").status_code == 204
    draft = make_video(alice)
    assert client_for(alice).post(f"/api/videos/{draft.pk}/like").status_code == 409
    assert client_for().post(f"/api/videos/{video.pk}/like").status_code in (401, 403)


def test_blocked_user_cannot_interact(alice, bob, make_video, client_for):
    video = make_video(alice, publish="public")
    user_block(blocker=alice, blocked=bob)
    assert client_for(bob).post(f"/api/videos/{video.pk}/like").status_code == 404
    assert client_for(bob).get(f"/api/videos/{video.pk}").status_code == 404


def test_only_owner_changes_or_removes(alice, bob, make_video, client_for):
    video = make_video(alice, publish="public")
    assert client_for(bob).patch(f"/api/videos/{video.pk}", {"visibility": "private"}, format="json").status_code == 403
    assert client_for(bob).delete(f"/api/videos/{video.pk}").status_code == 403
    assert client_for(alice).patch(f"/api/videos/{video.pk}", {"caption": "new"}, format="json").json()["caption"] == "new"
    assert client_for(alice).delete(f"/api/videos/{video.pk}").status_code == 204
    assert client_for(bob).get(f"/api/videos/{video.pk}").status_code == 404
    assert Video.objects.get(pk=video.pk).status == Video.Status.REMOVED


def test_pages_render(alice, bob, make_video, client):
    video = make_video(alice, publish="public", prompt="a blue circle moving left")
    page = client.get("/")
    assert page.status_code == 200 and b"a blue circle moving left" in page.content and b"<video" in page.content
    assert client.get(f"/v/{video.pk}").status_code == 200
    draft = make_video(alice)
    assert client.get(f"/v/{draft.pk}").status_code == 404
    client.force_login(alice)
    assert b"Post to feed" in client.get(f"/v/{draft.pk}").content
    client.force_login(bob)
    res = client.post(f"/v/{video.pk}", {"body": "nice one"})
    assert res.status_code == 302
    assert b"nice one" in client.get(f"/v/{video.pk}").content
    assert client.get(video.file.url).status_code == 200
