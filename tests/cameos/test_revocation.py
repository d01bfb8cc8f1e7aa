"""Consent taken back is honoured everywhere: between job_create and the worker, after posting
(the whole remix tree is hidden from every reader but staff, and stays on the owner's dashboard),
for one person (a grant revoked), for many (the level lowered), for a topic (a restriction)."""
import pytest
from django.core.files.storage import default_storage

from cameos import services
from cameos.models import CameoGrant, CameoUse
from feed.models import Video
from feed.services import video_publish
from generation.models import GenerationJob
from generation.services import job_create, job_run

PROMPT = "@ana_cam moving left on a blue background"


@pytest.fixture
def people(make_user):
    return {name: make_user(name) for name in ("ana", "bob", "carol", "dave")}


@pytest.fixture
def cameo(people, make_cameo):
    return make_cameo(people["ana"], "ana_cam", permission="everyone")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("how", ["cameo_revoked", "level_lowered", "grant_revoked", "restriction_added"])
def test_revocation_between_job_create_and_the_worker_refuses_before_generating(people, make_cameo, pipeline, how):
    ana, bob = people["ana"], people["bob"]
    cameo = make_cameo(ana, "ana_cam", permission="approved" if how == "grant_revoked" else "everyone")
    if how == "grant_revoked":
        services.grant_create(cameo=cameo, user=ana, grantee=bob)
    job = job_create(owner=bob, prompt="@ana_cam waving at an election rally", steps=2)
    assert job.status == "queued" and CameoUse.objects.get(job=job).cameo == cameo
    if how == "cameo_revoked":
        services.cameo_revoke(cameo=cameo, user=ana)
    elif how == "level_lowered":
        services.cameo_update(cameo=cameo, user=ana, permission="only_me")
    elif how == "grant_revoked":
        services.grant_revoke(cameo=cameo, user=ana, grantee=bob)
    else:
        services.restriction_add(cameo=cameo, user=ana, text="never in political videos")
    assert job_run(job_id=job.pk, worker="test") == "failed"
    job.refresh_from_db()
    assert job.video_id is None and job.step == 0  # refused before the first step
    assert "@ana_cam" in job.error and ("Consent" in job.error or "does not allow" in job.error), job.error
    assert not Video.objects.filter(owner=bob).exists()


@pytest.mark.django_db(transaction=True)
def test_the_worker_never_renders_a_named_cameo_without_its_likeness(people, cameo, pipeline):
    """With a model that has no reference conditioning the job fails saying so; with one that has
    it, the clip is made and recorded on the cameo's dashboard."""
    job = job_create(owner=people["bob"], prompt=PROMPT, steps=2)
    status = job_run(job_id=job.pk, worker="test")
    job.refresh_from_db()
    use = CameoUse.objects.get(job=job)
    if getattr(pipeline, "supports_cameo", False):
        assert status == "succeeded" and use.video_id == job.video_id
    else:
        assert status == "failed" and "cannot render cameos yet" in job.error and use.video_id is None


@pytest.fixture(scope="session")
def cameo_pipeline(tmp_path_factory):
    """A real pipeline with reference conditioning (tiny, random weights): the model side of cameos."""
    from generation.dit.pipeline import Pipeline
    from tests.cameos.weights import write_cameo_weights

    return Pipeline.load(write_cameo_weights(tmp_path_factory.mktemp("cameo-weights")), "cpu")


class PictureSpy:
    """The real pipeline, noting the cameo picture each call is handed."""

    def __init__(self, pipe):
        self.pipe, self.images = pipe, []

    def __getattr__(self, name):
        return getattr(self.pipe, name)

    def iter_generate(self, prompt, **kwargs):
        self.images.append(kwargs.get("cameo_image"))
        return self.pipe.iter_generate(prompt, **kwargs)


@pytest.mark.django_db(transaction=True)
def test_the_worker_hands_the_model_the_stored_picture_and_tells_the_owner(people, cameo, cameo_pipeline,
                                                                             monkeypatch):
    import numpy as np

    from generation.services import run

    spy = PictureSpy(cameo_pipeline)
    monkeypatch.setattr(run, "pipeline_get", lambda: spy)
    told = []
    monkeypatch.setattr("generation.services.events.notify_user", lambda user_id, payload: told.append((user_id, payload)))
    job = job_create(owner=people["bob"], prompt=PROMPT, steps=2)
    assert job_run(job_id=job.pk, worker="test") == "succeeded", GenerationJob.objects.get(pk=job.pk).error
    job.refresh_from_db()
    expected = services.cameo_image_array(cameo)
    assert len(spy.images) == 1 and np.array_equal(spy.images[0], expected)
    assert CameoUse.objects.get(job=job).video_id == job.video_id
    used = [p for uid, p in told if uid == people["ana"].pk and p["kind"] == "cameo.used"]
    assert used and used[0]["video"] == job.video_id and "@bob" in used[0]["message"]


@pytest.mark.django_db(transaction=True)
def test_revocation_while_the_clip_is_being_made_leaves_nothing_stored(people, cameo, store_job):
    """The last check, under the cameo's row lock, when the worker stores the clip."""
    job = job_create(owner=people["bob"], prompt=PROMPT, steps=2)
    services.cameo_revoke(cameo=cameo, user=people["ana"])
    with pytest.raises(services.CameoRefused):
        store_job(job)
    assert not Video.objects.filter(owner=people["bob"]).exists()
    assert not default_storage.exists("videos") or not default_storage.listdir("videos")[1]


def _readers(people, staff):
    return {"anonymous": None, **people, "staff": staff}


def _visible_ids(client, user):
    """Every video id `user` can reach through the feed, profiles, drafts and video pages."""
    ids = set()
    for path in ["/api/feed?limit=200", "/api/users/bob/videos", "/api/users/carol/videos", "/api/users/dave/videos"]:
        ids |= {v["id"] for v in client.get(path).json()["results"]}
    if user is not None:
        ids |= {v["id"] for v in client.get("/api/me/drafts?limit=200").json()["results"]}
    return ids


@pytest.mark.django_db
def test_revocation_after_posting_hides_the_whole_remix_tree(people, staff, cameo, make_draft, client_for):
    ana, bob, carol, dave = (people[n] for n in ("ana", "bob", "carol", "dave"))
    root = make_draft(bob, PROMPT)
    video_publish(video=root, user=bob, visibility="public")
    child = make_draft(carol, "a green square moving right", parent=root)  # does not name the cameo
    video_publish(video=child, user=carol, visibility="public")
    grandchild = make_draft(dave, "a white circle falling", parent=child)
    video_publish(video=grandchild, user=dave, visibility="public")
    draft_child = make_draft(carol, "a purple circle moving up", parent=root)  # a draft, never posted
    unrelated = make_draft(bob, "a yellow triangle moving down")
    video_publish(video=unrelated, user=bob, visibility="public")
    tree = {root.pk, child.pk, grandchild.pk, draft_child.pk}
    assert {u.video_id for u in CameoUse.objects.filter(cameo=cameo)} == tree  # inherited uses recorded

    readers = _readers(people, staff)
    before = {name: _visible_ids(client_for(u), u) for name, u in readers.items()}
    assert {root.pk, child.pk, grandchild.pk} <= before["anonymous"] and draft_child.pk in before["carol"]

    services.cameo_revoke(cameo=cameo, user=ana)

    leaks = []
    for name, user in readers.items():
        client = client_for(user)
        seen = _visible_ids(client, user)
        for pk in tree:
            detail = client.get(f"/api/videos/{pk}").status_code
            page = client.get(f"/v/{pk}").status_code
            lineage = client.get(f"/api/videos/{pk}/lineage").status_code
            if name == "staff":
                if detail != 200:
                    leaks.append((name, pk, "staff lost sight", detail))
            elif pk in seen or detail != 404 or page != 404 or lineage != 404:
                leaks.append((name, pk, pk in seen, detail, page, lineage))
        if name != "staff" and unrelated.pk not in seen:
            leaks.append((name, "the unrelated video was hidden too"))
    assert leaks == []
    assert set(Video.objects.filter(consent_hold=True).values_list("pk", flat=True)) == tree

    # the cameo's owner still sees every one of them on the dashboard, marked held
    dashboard = client_for(ana).get("/api/cameos/ana_cam/uses?limit=50").json()["results"]
    assert {u["video"]["id"] for u in dashboard} == tree and all(u["video"]["held"] for u in dashboard)
    # their makers' jobs no longer point at them
    job = client_for(bob).get("/api/generations").json()["results"][-1]
    assert job["prompt"] == PROMPT and job["video"] is None and job["video_url"] is None
    # and nobody can remix or post them any more
    r = client_for(dave).post("/api/generations", {"prompt": "a red circle", "parent": child.pk}, format="json")
    assert r.status_code == 400 and "parent" in r.json()
    r = client_for(carol).post(f"/api/videos/{draft_child.pk}/publish", {"visibility": "public"}, format="json")
    assert r.status_code == 404


@pytest.mark.django_db
def test_revoking_one_grant_holds_that_persons_videos_and_their_remixes_only(people, make_cameo, make_draft):
    ana, bob, carol, dave = (people[n] for n in ("ana", "bob", "carol", "dave"))
    cameo = make_cameo(ana, "ana_cam", permission="approved")
    for grantee in (bob, carol):
        services.grant_create(cameo=cameo, user=ana, grantee=grantee)
    bobs = make_draft(bob, PROMPT)
    services.use_decide(use=CameoUse.objects.get(video=bobs), user=ana, approve=True)
    video_publish(video=bobs, user=bob, visibility="public")
    remix_of_bobs = make_draft(carol, "a blue square moving up", parent=bobs)  # carol may use it herself
    carols = make_draft(carol, PROMPT)
    services.grant_revoke(cameo=cameo, user=ana, grantee=bob)
    held = set(Video.objects.filter(consent_hold=True).values_list("pk", flat=True))
    assert held == {bobs.pk, remix_of_bobs.pk}
    assert not Video.objects.get(pk=carols.pk).consent_hold
    # bob cannot use it any more; asking again after a revocation is refused with the reason
    with pytest.raises(Exception) as refused:
        job_create(owner=bob, prompt=PROMPT)
    assert "approved" in str(refused.value)
    with pytest.raises(Exception) as again:
        services.access_request(cameo=cameo, user=bob)
    assert "declined" in str(again.value)


@pytest.mark.django_db
def test_lowering_the_level_holds_the_videos_of_everyone_it_leaves_out(people, cameo, make_draft, mutual):
    ana, bob, carol = people["ana"], people["bob"], people["carol"]
    mutual(ana, carol)
    bobs, carols, anas = (make_draft(u, PROMPT) for u in (bob, carol, ana))
    services.cameo_update(cameo=cameo, user=ana, permission="mutuals")
    assert {v.pk for v in Video.objects.filter(consent_hold=True)} == {bobs.pk}
    services.cameo_update(cameo=cameo, user=ana, permission="only_me")
    assert {v.pk for v in Video.objects.filter(consent_hold=True)} == {bobs.pk, carols.pk}
    assert not Video.objects.get(pk=anas.pk).consent_hold  # the owner's own stay


@pytest.mark.django_db
def test_a_new_restriction_holds_the_videos_that_break_it(people, cameo, make_draft):
    political = make_draft(people["bob"], "@ana_cam giving a speech at an election rally")
    harmless = make_draft(people["bob"], "@ana_cam walking a dog in the park")
    services.restriction_add(cameo=cameo, user=people["ana"], text="never in political videos")
    assert Video.objects.get(pk=political.pk).consent_hold and not Video.objects.get(pk=harmless.pk).consent_hold


@pytest.mark.django_db
def test_approval_inbox_declining_holds_the_video_and_approving_lets_it_be_posted(people, make_cameo, make_draft,
                                                                                   client_for):
    ana, bob = people["ana"], people["bob"]
    cameo = make_cameo(ana, "ana_cam", permission="approved")
    services.grant_create(cameo=cameo, user=ana, grantee=bob)
    first, second = make_draft(bob, PROMPT), make_draft(bob, "@ana_cam moving up on a green background")
    inbox = client_for(ana).get("/api/cameos/inbox").json()["videos"]
    assert {u["video"]["id"] for u in inbox} == {first.pk, second.pk}
    assert client_for(bob).get("/api/cameos/inbox").json()["videos"] == []  # nobody else's inbox
    uses = {u["video"]["id"]: u["id"] for u in inbox}
    assert client_for(bob).post(f"/api/cameos/ana_cam/uses/{uses[first.pk]}/approve").status_code == 403
    assert client_for(ana).post(f"/api/cameos/ana_cam/uses/{uses[first.pk]}/approve").status_code == 200
    assert client_for(ana).post(f"/api/cameos/ana_cam/uses/{uses[second.pk]}/deny").status_code == 200
    assert client_for(bob).post(f"/api/videos/{first.pk}/publish", {"visibility": "public"}).status_code == 200
    assert client_for(bob).post(f"/api/videos/{second.pk}/publish", {"visibility": "public"}).status_code == 404
    assert Video.objects.get(pk=second.pk).consent_hold
    again = client_for(ana).post(f"/api/cameos/ana_cam/uses/{uses[first.pk]}/deny")
    assert again.status_code == 409 and "approval" in again.json()


@pytest.mark.django_db
def test_the_owner_deletes_a_video_with_their_cameo_and_every_remix_of_it(people, cameo, make_draft, client_for,
                                                                         django_capture_on_commit_callbacks):
    ana, bob, carol = people["ana"], people["bob"], people["carol"]
    root = make_draft(bob, PROMPT)
    video_publish(video=root, user=bob, visibility="public")
    remix = make_draft(carol, "a red circle moving left", parent=root)
    names = [n for v in (root, remix) for n in (v.file.name, v.poster.name)]
    assert all(default_storage.exists(n) for n in names)
    use = CameoUse.objects.get(video=root)
    assert client_for(bob).delete(f"/api/cameos/ana_cam/uses/{use.pk}").status_code == 403
    assert client_for(carol).delete(f"/api/cameos/ana_cam/uses/{use.pk}").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        r = client_for(ana).delete(f"/api/cameos/ana_cam/uses/{use.pk}")
    assert r.status_code == 200 and r.json() == {"removed": 2}
    assert set(Video.objects.filter(status="removed", consent_hold=True).values_list("pk", flat=True)) == {root.pk, remix.pk}
    assert not any(default_storage.exists(n) for n in names)
    assert client_for(bob).get(f"/api/videos/{root.pk}").status_code == 404
    assert client_for(ana).get("/api/cameos/ana_cam/uses").json()["results"][0]["video"]["status"] == "removed"


@pytest.mark.django_db
def test_grant_requests_flow_and_who_may_decide(people, make_cameo, client_for):
    ana, bob, carol = people["ana"], people["bob"], people["carol"]
    make_cameo(ana, "ana_cam", permission="approved")
    r = client_for(bob).post("/api/cameos/ana_cam/access", {"note": "for my birthday video"}, format="json")
    assert r.status_code == 201 and r.json()["status"] == "requested"
    assert client_for(bob).post("/api/cameos/ana_cam/access", {}, format="json").status_code == 409
    assert client_for(carol).post("/api/cameos/ana_cam/grants/bob/approve").status_code == 403
    assert client_for(bob).post("/api/cameos/ana_cam/grants/bob/approve").status_code == 403
    requests = client_for(ana).get("/api/cameos/inbox").json()["requests"]
    assert [(g["user"], g["note"]) for g in requests] == [("bob", "for my birthday video")]
    assert client_for(ana).post("/api/cameos/ana_cam/grants/bob/approve").json()["status"] == "approved"
    assert client_for(bob).get("/api/cameos/ana_cam").json()["access"]["can_use"] is True
    assert CameoGrant.objects.get(user=bob).status == "approved"
    r = client_for(carol).post("/api/cameos/ana_cam/access", {}, format="json")
    assert client_for(ana).post("/api/cameos/ana_cam/grants/carol/deny").json()["status"] == "denied"
    assert client_for(carol).get("/api/cameos/ana_cam").json()["access"] == {
        "can_use": False, "request": "denied",
        "reason": "@ana_cam is only for people @ana approved: ask for access on its page (/cameos/ana_cam)."}
    assert GenerationJob.objects.count() == 0
