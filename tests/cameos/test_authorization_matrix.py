"""The authorization matrix, through the HTTP API: owner / approved / mutual / stranger / anonymous /
staff x every permission level x create (a prompt naming @handle), remix (a parent whose lineage
uses the cameo), publish (a draft that uses it), view the dashboard. Every cell is compared with
the rule; a refused cell must also leave no job or post behind. 0 leaks."""
import pytest

from cameos.models import Cameo, CameoGrant
from feed.models import Video
from generation.models import GenerationJob

pytestmark = pytest.mark.django_db

LEVELS = [p.value for p in Cameo.Permission]
ACTORS = ["owner", "approved", "mutual", "stranger", "anonymous", "staff"]
# Who may use the cameo at each level (the rule under test, written out by hand).
MAY_USE = {
    "only_me": {"owner"},
    "approved": {"owner", "approved"},
    "mutuals": {"owner", "mutual"},
    "everyone": {"owner", "approved", "mutual", "stranger", "staff"},
}


@pytest.fixture
def world(make_user, make_cameo, mutual, client_for, make_draft):
    from feed.services import video_publish

    users = {name: make_user(name) for name in ("owner", "approved", "mutual", "stranger")}
    users["staff"] = make_user("staffer")
    users["staff"].is_staff = True
    users["staff"].save(update_fields=["is_staff"])
    cameo = make_cameo(users["owner"], "ana_cam", permission="everyone")
    CameoGrant.objects.create(cameo=cameo, user=users["approved"], status=CameoGrant.Status.APPROVED)
    mutual(users["owner"], users["mutual"])
    # the parent to remix: the owner's own public post with the cameo
    parent = make_draft(users["owner"], "@ana_cam moving left on a blue background")
    video_publish(video=parent, user=users["owner"], visibility="public")
    clients = {name: client_for(users.get(name)) for name in ACTORS}
    return {"users": users, "cameo": cameo, "parent": parent, "clients": clients}


def _set_level(cameo, level):
    # a plain update, on purpose: this isolates each door's own check from the holds that
    # cameo_update puts on existing videos (tested in test_revocation.py)
    Cameo.objects.filter(pk=cameo.pk).update(permission=level)


def test_authorization_matrix(world, make_draft, capsys):
    users, cameo, parent, clients = world["users"], world["cameo"], world["parent"], world["clients"]
    leaks, table = [], []
    for level in LEVELS:
        for actor in ACTORS:
            client, allowed = clients[actor], actor in MAY_USE[level]
            row = {"level": level, "actor": actor}
            _set_level(cameo, level)

            # create: a prompt naming the cameo
            jobs_before = GenerationJob.objects.count()
            r = client.post("/api/generations", {"prompt": "@ana_cam moving right on a green background", "steps": 2},
                            format="json")
            row["create"] = r.status_code
            expected = 201 if allowed else (403 if actor != "anonymous" else (401, 403))
            if r.status_code not in (expected if isinstance(expected, tuple) else (expected,)):
                leaks.append((level, actor, "create", r.status_code, r.json()))
            if not allowed and actor != "anonymous" and "prompt" not in r.json():
                leaks.append((level, actor, "create: no field named", r.json()))
            if not allowed and GenerationJob.objects.count() != jobs_before:
                leaks.append((level, actor, "create left a job behind"))

            # remix: the parent's lineage uses the cameo; the prompt does not name it
            jobs_before = GenerationJob.objects.count()
            r = client.post("/api/generations", {"prompt": "a blue circle moving up", "parent": parent.pk,
                                                 "steps": 2}, format="json")
            row["remix"] = r.status_code
            if r.status_code != (201 if allowed else 403) and not (actor == "anonymous" and r.status_code == 401):
                leaks.append((level, actor, "remix", r.status_code, r.json()))
            if not allowed and actor != "anonymous" and "parent" not in r.json():
                leaks.append((level, actor, "remix: no field named", r.json()))
            if not allowed and GenerationJob.objects.count() != jobs_before:
                leaks.append((level, actor, "remix left a job behind"))
            GenerationJob.objects.filter(status="queued").update(status="canceled")  # stay under the active limit

            # publish: a draft of the actor's that uses the cameo (made while they could)
            if actor == "anonymous":
                r = client.post(f"/api/videos/{parent.pk}/publish", {"visibility": "public"}, format="json")
                row["publish"] = r.status_code
                if r.status_code not in (401, 403):
                    leaks.append((level, actor, "publish", r.status_code))
            else:
                if not allowed:
                    _set_level(cameo, "everyone")
                draft = make_draft(users[actor], "@ana_cam moving down on a yellow background")
                _set_level(cameo, level)
                r = clients[actor].post(f"/api/videos/{draft.pk}/publish", {"visibility": "public"}, format="json")
                row["publish"] = r.status_code
                if actor == "approved" and level == "approved":
                    # the per-video approval gate: refused until the owner approves this very video
                    ok = r.status_code == 409 and "video" in r.json()
                    use = draft.cameo_uses.get()
                    a = clients["owner"].post(f"/api/cameos/ana_cam/uses/{use.pk}/approve")
                    r = clients[actor].post(f"/api/videos/{draft.pk}/publish", {"visibility": "public"}, format="json")
                    row["publish"] = f"409->{a.status_code}->{r.status_code}"
                    if not (ok and a.status_code == 200 and r.status_code == 200):
                        leaks.append((level, actor, "publish approval gate", row["publish"]))
                elif r.status_code != (200 if allowed else 403):
                    leaks.append((level, actor, "publish", r.status_code, r.json()))
                draft.refresh_from_db()
                if not allowed and draft.status != Video.Status.DRAFT:
                    leaks.append((level, actor, "publish changed the draft"))

            # the dashboard: the owner and staff only (a private cameo is not even there for others)
            r = client.get("/api/cameos/ana_cam/uses")
            row["dashboard"] = r.status_code
            if actor in ("owner", "staff"):
                if r.status_code != 200 or not r.json()["results"]:
                    leaks.append((level, actor, "dashboard", r.status_code))
            elif actor == "anonymous":
                if r.status_code not in (401, 403):
                    leaks.append((level, actor, "dashboard", r.status_code))
            elif r.status_code != (404 if level == "only_me" else 403):
                leaks.append((level, actor, "dashboard", r.status_code))
            table.append(row)

    with capsys.disabled():
        print("\nlevel     actor      create remix publish          dashboard")
        for row in table:
            print(f"{row['level']:9} {row['actor']:10} {row['create']!s:6} {row['remix']!s:5} "
                  f"{row['publish']!s:16} {row['dashboard']}")
        print(f"cells: {len(table) * 4}, leaks: {len(leaks)}")
    assert leaks == []
