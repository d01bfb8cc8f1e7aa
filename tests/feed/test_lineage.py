"""Lineage: the materialized path, /api/videos/<id>/lineage, constant query counts at any depth or
size, visibility of ancestors and descendants, remix counts, attribution, allow_remix."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from feed import selectors
from feed.models import Video
from feed.services import MAX_LINEAGE_DEPTH, video_update

pytestmark = pytest.mark.django_db


def chain(make_video, owner, length, publish="public"):
    videos = [make_video(owner, publish=publish, prompt="root")]
    for i in range(length):
        videos.append(make_video(owner, publish=publish, prompt=f"remix {i + 1}", parent=videos[-1]))
    return videos


def lineage_queries(client, video_id, **params):
    with CaptureQueriesContext(connection) as ctx:
        res = client.get(f"/api/videos/{video_id}/lineage", params)
    assert res.status_code == 200, res.content
    return len(ctx.captured_queries), res.json()


def test_remixes_get_their_path_and_depth(alice, make_video):
    a, b, c = chain(make_video, alice, 2)
    c.refresh_from_db()
    assert (a.lineage_path, a.depth) == ("", 0)
    assert (c.lineage_path, c.depth, c.ancestor_ids) == (f"{a.pk}/{b.pk}/", 2, [a.pk, b.pk])
    assert c.descendant_prefix == f"{a.pk}/{b.pk}/{c.pk}/"


def test_prefix_does_not_match_a_sibling_whose_id_starts_the_same(alice, make_video):
    """Video 1's descendants must not include the descendants of video 12 (path "12/")."""
    root = make_video(alice, publish="public")
    other = Video.objects.get(pk=root.pk)
    other.pk, other.lineage_path = None, ""
    other.save()
    # a fake path that shares the textual prefix of root's id but is another root
    Video.objects.filter(pk=other.pk).update(lineage_path=f"{root.pk}0/", depth=1)
    lineage = selectors.lineage_get(video_id=root.pk, viewer=alice)
    assert lineage.descendant_count == 0 and lineage.descendants == []


def test_ancestors_at_depth_50_read_in_the_same_number_of_queries_as_at_depth_2(alice, make_video, client_for,
                                                                               django_assert_num_queries):
    videos = chain(make_video, alice, 50)
    client = client_for(alice)
    shallow, _ = lineage_queries(client, videos[2].pk)
    deep, body = lineage_queries(client, videos[50].pk)
    assert deep == shallow
    with django_assert_num_queries(7):  # follows, blocks, video, ancestors, counts, children, page
        client.get(f"/api/videos/{videos[50].pk}/lineage")
    assert [a["id"] for a in body["ancestors"]] == [v.pk for v in videos[:50]]
    assert body["video"]["depth"] == 50 and body["video"]["remix_of"]["id"] == videos[49].pk
    # and from the root: 50 descendants at 50 depths, breadth first
    n, root = lineage_queries(client, videos[0].pk, limit=200)
    assert n == shallow - 1  # a root has no ancestors to read
    assert root["descendant_count"] == 50 and root["remix_count"] == 1
    assert [d["id"] for d in root["descendants"]["results"]] == [v.pk for v in videos[1:]]
    assert [d["depth"] for d in root["descendants"]["results"]] == list(range(1, 51))


def test_many_descendants_page_in_constant_queries(alice, bob, make_video, client_for):
    root = make_video(alice, publish="public", prompt="root")
    client = client_for(bob)
    few, _ = lineage_queries(client, root.pk)
    kids = [make_video(bob, publish="public", prompt=f"kid {i}", parent=root) for i in range(12)]
    grandkids = [make_video(alice, publish="public", prompt=f"gk {i}", parent=kids[i % 12]) for i in range(150)]
    many, body = lineage_queries(client, root.pk, limit=50)
    assert many == few
    assert body["remix_count"] == 12 and body["descendant_count"] == 162
    assert body["video"]["remix_count"] == 12
    assert [c["id"] for c in body["children"]] == [k.pk for k in kids]
    assert all(c["remix_count"] in (12, 13) for c in body["children"])  # 150 grandchildren over 12 kids
    page = body["descendants"]
    assert page["count"] == 162 and len(page["results"]) == 50 and page["previous"] is None
    assert [d["id"] for d in page["results"][:12]] == [k.pk for k in kids]  # depth 1 first
    assert "offset=50" in page["next"]
    n_last, last = lineage_queries(client, root.pk, limit=50, offset=150)
    assert n_last == few
    assert [d["id"] for d in last["descendants"]["results"]] == [g.pk for g in grandkids[138:]]
    assert last["descendants"]["next"] is None and "offset=100" in last["descendants"]["previous"]


def test_bad_paging_is_a_400_naming_the_field(alice, make_video, client_for):
    v = make_video(alice, publish="public")
    for params, field in (({"limit": 0}, "limit"), ({"limit": 5000}, "limit"), ({"offset": -1}, "offset"),
                          ({"limit": "x"}, "limit")):
        res = client_for(alice).get(f"/api/videos/{v.pk}/lineage", params)
        assert res.status_code == 400 and field in res.json(), (params, res.content)


def test_a_private_ancestor_is_shown_hidden_and_nothing_about_it_leaks(alice, bob, make_video, client_for):
    root = make_video(bob, publish="public", prompt="bob's secret garden")
    mid = make_video(alice, publish="public", prompt="alice remix", parent=root)
    leaf = make_video(alice, publish="public", prompt="alice leaf", parent=mid)
    video_update(video=root, user=bob, visibility="private")
    res = client_for(alice).get(f"/api/videos/{leaf.pk}/lineage")
    body = res.json()
    assert body["ancestors"][0] == {"hidden": True, "depth": 0}
    assert body["ancestors"][1]["id"] == mid.pk and body["ancestors"][1]["remix_of"] == {"hidden": True, "mode": ""}
    assert body["ancestors"][1]["parent"] is None
    assert b"secret garden" not in res.content and b"bob" not in res.content
    assert all(a.get("id") != root.pk for a in body["ancestors"])
    # the remix's own page tells the same
    detail = client_for(alice).get(f"/api/videos/{mid.pk}").json()
    assert detail["remix_of"] == {"hidden": True, "mode": ""} and detail["parent"] is None
    # anonymous: the same; the owner sees everything
    assert client_for().get(f"/api/videos/{leaf.pk}/lineage").json()["ancestors"][0] == {"hidden": True, "depth": 0}
    own = client_for(bob).get(f"/api/videos/{leaf.pk}/lineage").json()
    assert own["ancestors"][0]["prompt"] == "bob's secret garden"
    assert client_for(alice).get(f"/api/videos/{root.pk}/lineage").status_code == 404


def test_descendants_and_counts_only_show_what_the_viewer_may_see(alice, bob, make_video, client_for):
    root = make_video(alice, publish="public")
    public = make_video(bob, publish="public", parent=root)
    draft = make_video(bob, parent=root)  # bob's draft: only bob sees it
    hidden_child = make_video(bob, publish="private", parent=public)
    anon = client_for().get(f"/api/videos/{root.pk}/lineage").json()
    assert [d["id"] for d in anon["descendants"]["results"]] == [public.pk]
    assert anon["remix_count"] == 1 and anon["descendant_count"] == 1
    mine = client_for(bob).get(f"/api/videos/{root.pk}/lineage").json()
    assert {d["id"] for d in mine["descendants"]["results"]} == {public.pk, draft.pk, hidden_child.pk}
    assert mine["remix_count"] == 2 and mine["descendant_count"] == 3


def test_attribution_on_every_remix_in_the_feed(alice, bob, make_video, client_for):
    root = make_video(alice, publish="public", prompt="a red circle")
    make_video(bob, publish="public", prompt="a blue circle", parent=root)
    feed = client_for().get("/api/feed").json()["results"]
    remix = next(v for v in feed if v["prompt"] == "a blue circle")
    assert remix["remix_of"] == {"hidden": False, "id": root.pk, "owner": "alice", "prompt": "a red circle",
                                 "mode": ""}
    original = next(v for v in feed if v["prompt"] == "a red circle")
    assert original["remix_of"] is None and original["remix_count"] == 1 and original["allow_remix"] is True


def test_owner_can_disallow_remixes_and_only_the_owner(alice, bob, make_video, client_for):
    v = make_video(alice, publish="public")
    assert client_for(bob).patch(f"/api/videos/{v.pk}", {"allow_remix": False}, format="json").status_code == 403
    res = client_for(alice).patch(f"/api/videos/{v.pk}", {"allow_remix": False}, format="json")
    assert res.status_code == 200 and res.json()["allow_remix"] is False
    bad = client_for(alice).patch(f"/api/videos/{v.pk}", {"allow_remix": "perhaps"}, format="json")
    assert bad.status_code == 400 and "allow_remix" in bad.json()


def test_chains_deeper_than_the_limit_are_refused_clearly(alice, make_video):
    from django.core.exceptions import ValidationError

    v = make_video(alice, publish="public")
    Video.objects.filter(pk=v.pk).update(depth=MAX_LINEAGE_DEPTH)
    v.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        make_video(alice, parent=v)
    assert "parent" in exc.value.message_dict and "deep" in exc.value.message_dict["parent"][0]


def test_lineage_migration_fills_paths_of_existing_remixes(alice, make_video):
    """The data step of feed.0002 on rows written before it existed (paths blank)."""
    import importlib

    from django.apps import apps

    a, b, c = chain(make_video, alice, 2)
    Video.objects.update(lineage_path="", depth=0)
    importlib.import_module("feed.migrations.0002_lineage").fill_lineage_paths(apps, None)
    c.refresh_from_db()
    b.refresh_from_db()
    assert (c.lineage_path, c.depth, b.lineage_path, b.depth) == (f"{a.pk}/{b.pk}/", 2, f"{a.pk}/", 1)
