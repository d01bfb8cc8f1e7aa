"""Moderation end to end over the API: report -> staff bulk action -> the content is gone from the
feed, the video page, the lineage API and the video API at once -> the owner sees the notice and
appeals once -> staff grant it -> the content is back; suspension; comments; refusals."""
import pytest
from django.test import Client

from moderation.models import Appeal, Decision, Report

pytestmark = pytest.mark.django_db


def _report(client, **body):
    return client.post("/api/reports", body, format="json")


def _feed_ids(client):
    return [v["id"] for v in client.get("/api/feed").json()["results"]]


def test_report_remove_everywhere_appeal_once_and_restore(client_for, alice, bob, staff, make_video):
    video = make_video(alice, publish="public")
    remix = make_video(bob, publish="public", parent=video, prompt="a remix")
    as_bob, as_alice, as_staff, anon = client_for(bob), client_for(alice), client_for(staff), client_for()

    res = _report(as_bob, video=video.pk, reason="violence", details="too graphic")
    assert res.status_code == 201, res.content
    queue = as_staff.get("/api/moderation/queue?kind=report").json()["results"]
    assert [(q["key"], q["owner"], q["reason"]) for q in queue] == [(f"report:{res.json()['id']}", "alice", "violence")]

    res = as_staff.post("/api/moderation/actions", {"items": [queue[0]["key"]], "action": "remove", "note": "gore"},
                        format="json")
    assert res.status_code == 200, res.content
    assert res.json()["counts"]["report"] == 0
    # gone at once for everybody but staff: feed, video API, video page, lineage API (as a hidden ancestor)
    for client in (anon, as_bob, as_alice):
        assert video.pk not in _feed_ids(client)
        assert client.get(f"/api/videos/{video.pk}").status_code == 404
        assert client.get(f"/api/videos/{video.pk}/lineage").status_code == 404
    assert Client().get(f"/v/{video.pk}").status_code == 404
    ancestors = anon.get(f"/api/videos/{remix.pk}/lineage").json()["ancestors"]
    assert ancestors == [{"id": video.pk, "hidden": True}] or ancestors[0].get("hidden") is True
    assert remix.pk in _feed_ids(anon)  # the remix itself stays

    notices = as_alice.get("/api/moderation/notices").json()["results"]
    assert [(n["action"], n["target_id"], n["note"], n["appealable"]) for n in notices] == [("remove", video.pk, "gore", True)]
    assert as_bob.post("/api/moderation/appeals", {"decision": notices[0]["id"], "text": "mine?"},
                       format="json").status_code == 400  # not bob's removal
    res = as_alice.post("/api/moderation/appeals", {"decision": notices[0]["id"], "text": "it is a cartoon"}, format="json")
    assert res.status_code == 201, res.content
    again = as_alice.post("/api/moderation/appeals", {"decision": notices[0]["id"], "text": "please"}, format="json")
    assert again.status_code == 409 and "once" in again.json()["decision"][0]

    appeal = Appeal.objects.get()
    res = as_staff.post("/api/moderation/actions", {"items": [f"appeal:{appeal.pk}"], "action": "restore",
                                                     "note": "fair"}, format="json")
    assert res.status_code == 200, res.content
    assert video.pk in _feed_ids(anon) and anon.get(f"/api/videos/{video.pk}").status_code == 200
    appeal.refresh_from_db()
    assert appeal.status == "resolved" and appeal.decision.action == "appeal_granted"
    assert list(Decision.objects.order_by("pk").values_list("action", flat=True)) == ["remove", "appeal_granted"]
    log = as_staff.get(f"/api/moderation/log?target_kind=video&target_id={video.pk}").json()["results"]
    assert [d["action"] for d in log] == ["appeal_granted", "remove"]


def test_bulk_remove_makes_one_decision_per_video_and_closes_every_open_report_on_it(act, alice, bob, make_user, make_video):
    from moderation.services import report_create

    carol = make_user("carol")
    v1, v2 = make_video(alice, publish="public"), make_video(alice, publish="public")
    r1 = report_create(reporter=bob, video=v1, reason="spam")
    r2 = report_create(reporter=carol, video=v1, reason="hate")
    r3 = report_create(reporter=bob, video=v2, reason="spam")
    unselected = report_create(reporter=carol, video=v2, reason="spam")
    decisions = act([f"report:{r1.pk}", f"report:{r2.pk}", f"report:{r3.pk}"], "remove")
    assert sorted((d.target_id, tuple(sorted(d.items))) for d in decisions) == sorted([
        (v1.pk, (f"report:{r1.pk}", f"report:{r2.pk}")), (v2.pk, (f"report:{r3.pk}", f"report:{unselected.pk}"))])
    assert set(Report.objects.values_list("status", flat=True)) == {"resolved"}
    v1.refresh_from_db()
    assert v1.status == "removed"


def test_dismiss_closes_the_report_and_changes_nothing(act, alice, bob, make_video, client_for):
    from moderation.services import report_create

    video = make_video(alice, publish="public")
    report = report_create(reporter=bob, video=video, reason="other", details="I don't like it")
    [d] = act([f"report:{report.pk}"], "dismiss")
    report.refresh_from_db()
    assert (report.status, report.decision, d.action, d.target_kind) == ("dismissed", d, "dismiss", "report")
    assert video.pk in _feed_ids(client_for())
    assert client_for(alice).get("/api/moderation/notices").json()["results"] == []  # dismissals are not news


def test_suspend_logs_out_blocks_login_and_generation_and_restore_lifts_it(act, alice, bob, make_video, client_for):
    from rest_framework.test import APIClient

    from generation.models import GenerationJob

    make_video(alice, publish="public")
    job = GenerationJob.objects.create(owner=alice, prompt="a red circle", seed=1, steps=2, guidance=2.0)
    session = Client()
    assert session.login(username="alice", password="correct-horse-42")
    [d] = act([f"user:{alice.pk}"], "suspend", note="repeated abuse")
    assert d.detail == {"canceled_jobs": [str(job.pk)]}
    job.refresh_from_db()
    assert job.status == "canceled"
    assert session.get("/api/me").status_code in (401, 403)  # the open session is over
    assert not Client().login(username="alice", password="correct-horse-42")
    token = APIClient()
    token.credentials(HTTP_AUTHORIZATION=f"Token {alice.auth_token.key}")
    res = token.post("/api/generations", {"prompt": "a red circle"}, format="json")
    assert res.status_code in (401, 403) and "inactive" in res.json()["detail"], res.content
    [lift] = act([f"user:{alice.pk}"], "restore")
    assert lift.action == "restore" and Client().login(username="alice", password="correct-horse-42")


def test_staff_cannot_be_suspended_here_and_restore_needs_a_suspension(act, staff, make_user, alice):
    other = make_user("mod2")
    other.is_staff = True
    other.save()
    with pytest.raises(Exception) as caught:
        act([f"user:{other.pk}"], "suspend")
    assert "staff" in str(caught.value)
    with pytest.raises(Exception) as caught:
        act([f"user:{alice.pk}"], "restore")
    assert "not suspended" in str(caught.value)


def test_a_removed_comment_disappears_and_comes_back(act, alice, bob, make_video, client_for):
    from feed.services import comment_create
    from moderation.services import report_create

    video = make_video(alice, publish="public")
    comment = comment_create(video=video, author=bob, body="you are awful")
    report = report_create(reporter=alice, comment=comment, reason="hate")
    act([f"report:{report.pk}"], "remove")
    comments = client_for().get(f"/api/videos/{video.pk}/comments").json()["results"]
    assert comments == []
    act([f"comment:{comment.pk}"], "restore")
    comments = client_for().get(f"/api/videos/{video.pk}/comments").json()["results"]
    assert [c["body"] for c in comments] == ["you are awful"]


def test_reports_are_checked_and_named(client_for, alice, bob, make_video, make_user):
    video = make_video(alice, publish="public")
    private = make_video(alice, publish="private")
    as_bob = client_for(bob)
    assert client_for().post("/api/reports", {"video": video.pk, "reason": "spam"}, format="json").status_code in (401, 403)
    cases = [
        ({"video": video.pk, "reason": "bad"}, "reason"),
        ({"video": video.pk, "reason": "other"}, "details"),
        ({"reason": "spam"}, "target"),
        ({"video": video.pk, "user": "alice", "reason": "spam"}, "target"),
        ({"video": 999999, "reason": "spam"}, "video"),
        ({"video": private.pk, "reason": "spam"}, "video"),  # bob cannot see it
        ({"user": "nobody_here", "reason": "spam"}, "user"),
        ({"user": "bob", "reason": "spam"}, "user"),
        ({"video": video.pk, "reason": "spam", "details": "x" * 1001}, "details"),
    ]
    for body, field in cases:
        res = _report(as_bob, **body)
        assert res.status_code == 400 and field in res.json(), (body, res.content)
    assert _report(client_for(alice), video=video.pk, reason="spam").json()["video"][0].startswith("This is your own")
    assert _report(as_bob, user="alice", reason="hate").status_code == 201
    dup = _report(as_bob, user="ALICE", reason="spam")
    assert dup.status_code == 409 and "still open" in dup.json()["user"][0]


def test_the_queue_and_actions_are_staff_only_and_refuse_what_does_not_fit(client_for, act, alice, bob, staff, make_video):
    from moderation.services import prompt_flag, report_create

    video = make_video(alice, publish="public")
    report = report_create(reporter=bob, video=video, reason="spam")
    flag = prompt_flag(user=bob, prompt="something bad", category="violence", reason="graphic violence")
    for client in (client_for(), client_for(alice)):
        assert client.get("/api/moderation/queue").status_code in (401, 403)
        assert client.post("/api/moderation/actions", {"items": [f"report:{report.pk}"], "action": "remove"},
                           format="json").status_code in (401, 403)
        assert client.get("/api/moderation/log").status_code in (401, 403)
    as_staff = client_for(staff)
    bad = [
        ({"items": [], "action": "remove"}, "items"),
        ({"items": ["report"], "action": "remove"}, "items"),
        ({"items": ["thing:1"], "action": "remove"}, "items"),
        ({"items": ["report:999999"], "action": "remove"}, "items"),
        ({"items": [f"report:{report.pk}"], "action": "delete"}, "action"),
        ({"items": [f"prompt:{flag.pk}"], "action": "remove"}, "items"),  # a refused prompt made nothing
        ({"items": [f"user:{alice.pk}"], "action": "remove"}, "items"),
        ({"items": [f"video:{video.pk}"], "action": "dismiss"}, "items"),
        ({"items": [f"report:{report.pk}"], "action": "warn", "note": "n" * 1001}, "note"),
    ]
    for body, field in bad:
        res = as_staff.post("/api/moderation/actions", body, format="json")
        assert res.status_code == 400 and field in res.json(), (body, res.content)
    assert Decision.objects.count() == 0  # all or nothing
    assert as_staff.get("/api/moderation/queue?kind=nope").status_code == 400
    act([f"report:{report.pk}", f"prompt:{flag.pk}"], "warn", note="careful")
    res = as_staff.post("/api/moderation/actions", {"items": [f"report:{report.pk}"], "action": "remove"}, format="json")
    assert res.status_code == 409 and "already resolved" in res.json()["items"][0]
    assert as_staff.post("/api/moderation/actions", {"items": [f"video:{video.pk}"], "action": "restore"},
                         format="json").status_code == 409  # never removed
    # two items about different people: one warning each
    assert sorted(Decision.objects.values_list("subject_name", flat=True)) == ["alice", "bob"]


def test_the_staff_page_and_held_frames_image_are_staff_only(client_for, staff, alice, bob, make_video):
    from moderation.services import report_create

    video = make_video(alice, publish="public")
    report_create(reporter=bob, video=video, reason="spam", details="buy now")
    page = Client()
    page.force_login(staff)
    body = page.get("/moderation").content.decode()
    assert f'value="report:' in body and "buy now" in body and "Spam or scam" in body
    member = Client()
    member.force_login(alice)
    assert member.get("/moderation").status_code == 404
    assert member.get("/moderation/frames/1.png").status_code == 404
    assert Client().get("/moderation").status_code == 302  # to the login page


def test_a_video_its_owner_took_down_is_not_put_back_by_restore(act, alice, bob, make_video):
    from feed.services import video_remove
    from moderation.services import report_create

    video = make_video(alice, publish="public")
    report = report_create(reporter=bob, video=video, reason="spam")
    video_remove(video=video, user=alice)
    [d] = act([f"report:{report.pk}"], "remove")  # closes the report; nothing left to take down
    assert d.detail == {"already_removed": True}
    with pytest.raises(Exception) as caught:
        act([f"video:{video.pk}"], "restore")
    assert "not removed by moderation" in str(caught.value)
    video.refresh_from_db()
    assert video.status == "removed"
