"""The cameo pages render for who may see them (and 404/403 for others), the picture is served
only to people who may see it, and the API is described in the OpenAPI schema."""
import pytest
from django.test import Client

from cameos import services

pytestmark = pytest.mark.django_db


def _browser(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_pages_for_the_owner_another_user_and_anonymous(alice, bob, make_cameo, make_draft):
    cameo = make_cameo(alice, "ana_cam", permission="approved")
    services.restriction_add(cameo=cameo, user=alice, text="never in political videos")
    services.access_request(cameo=cameo, user=bob, note="for a birthday clip")
    owner, other = _browser(alice), _browser(bob)

    page = owner.get("/cameos").content.decode()
    assert "@ana_cam" in page and "asks to use" in page and "for a birthday clip" in page
    settings = owner.get("/cameos/ana_cam").content.decode()
    assert "never in political videos" in settings and 'data-grant="bob"' in settings and "Revoke cameo" in settings
    assert owner.get("/cameos/ana_cam/uses").status_code == 200

    theirs = other.get("/cameos/ana_cam").content.decode()
    assert "Requested" in theirs and "Revoke cameo" not in theirs and "/api/cameos/ana_cam/image" not in theirs
    assert other.get("/cameos/ana_cam/uses").status_code == 403
    assert _browser().get("/cameos/ana_cam").status_code == 200  # discoverable, picture hidden
    assert _browser().get("/cameos").status_code == 302  # sign in first

    services.grant_decide(cameo=cameo, user=alice, grantee=bob, approve=True)
    draft = make_draft(bob, "@ana_cam moving left on a blue background")
    dashboard = owner.get("/cameos/ana_cam/uses").content.decode()
    assert f'data-video="{draft.pk}"' in dashboard and "Needs approval" in dashboard
    assert "/api/cameos/ana_cam/image" in other.get("/cameos/ana_cam").content.decode()


def test_a_private_cameo_is_not_there_for_others(alice, bob, make_cameo, client_for):
    make_cameo(alice, "ana_cam", permission="only_me")
    assert _browser(bob).get("/cameos/ana_cam").status_code == 404
    assert client_for(bob).get("/api/cameos/ana_cam").status_code == 404
    assert client_for(bob).get("/api/cameos/ana_cam/image").status_code == 404
    assert client_for(bob).post("/api/cameos/ana_cam/access", {}, format="json").status_code == 404
    assert client_for(alice).get("/api/cameos/ana_cam/image").status_code == 200


def test_the_picture_follows_consent(alice, bob, make_cameo, client_for):
    cameo = make_cameo(alice, "ana_cam", permission="everyone")
    assert client_for(bob).get("/api/cameos/ana_cam/image").status_code == 200
    assert client_for(None).get("/api/cameos/ana_cam/image").status_code == 403  # needs an account to use it
    services.cameo_update(cameo=cameo, user=alice, permission="approved")
    r = client_for(bob).get("/api/cameos/ana_cam/image")
    assert r.status_code == 403 and "see its picture" in r.json()["detail"]


def test_lists_and_owner_only_writes(alice, bob, make_cameo, client_for):
    make_cameo(alice, "ana_cam", permission="everyone")
    mine = client_for(alice).get("/api/cameos?scope=mine").json()["results"]
    assert [c["handle"] for c in mine] == ["ana_cam"]
    usable = client_for(bob).get("/api/cameos?scope=usable").json()["results"]
    assert [(c["handle"], c["access"]["can_use"]) for c in usable] == [("ana_cam", True)]
    assert client_for(bob).get("/api/cameos?scope=all").status_code == 400
    for method, path, body in [("patch", "/api/cameos/ana_cam", {"permission": "only_me"}),
                               ("delete", "/api/cameos/ana_cam", None),
                               ("post", "/api/cameos/ana_cam/revoke", None),
                               ("post", "/api/cameos/ana_cam/restrictions", {"text": "no alcohol"}),
                               ("get", "/api/cameos/ana_cam/grants", None),
                               ("post", "/api/cameos/ana_cam/grants", {"username": "bob"})]:
        r = getattr(client_for(bob), method)(path, body, format="json")
        assert r.status_code == 403, (method, path, r.status_code)
    bad = client_for(alice).patch("/api/cameos/ana_cam", {"permission": "friends"}, format="json")
    assert bad.status_code == 400 and "permission" in bad.json()
    nobody = client_for(alice).post("/api/cameos/ana_cam/grants", {"username": "ghost"}, format="json")
    assert nobody.status_code == 400 and "username" in nobody.json()
    own = client_for(alice).post("/api/cameos/ana_cam/access", {}, format="json")
    assert own.status_code == 400 and "cameo" in own.json()


def test_the_api_is_in_the_openapi_schema(client_for):
    schema = client_for(None).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    for path in ["/api/cameos", "/api/cameos/{handle}", "/api/cameos/{handle}/uses", "/api/cameos/{handle}/access",
                 "/api/cameos/{handle}/grants/{username}/approve", "/api/cameos/{handle}/uses/{use_id}/deny",
                 "/api/cameos/inbox", "/api/cameos/{handle}/restrictions", "/api/cameos/{handle}/image"]:
        assert path in paths, path
    assert "multipart/form-data" in paths["/api/cameos"]["post"]["requestBody"]["content"]


def test_the_stored_picture_is_not_served_as_plain_media(alice, make_cameo, client_for):
    cameo = make_cameo(alice, "ana_cam", permission="everyone")
    assert client_for(alice).get(f"/media/{cameo.image.name}").status_code == 404
    assert client_for(alice).get("/api/cameos/ana_cam/image").status_code == 200
