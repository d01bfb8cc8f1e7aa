import pytest
from django.core.exceptions import ValidationError

from accounts import selectors, services
from accounts.models import Block, Follow

pytestmark = pytest.mark.django_db


def test_signup_api_creates_user_and_token(client_for):
    res = client_for().post("/api/auth/signup", {"username": "carol", "password": "correct-horse-42"}, format="json")
    assert res.status_code == 201, res.content
    token = res.json()["token"]
    me = client_for().get("/api/me", HTTP_AUTHORIZATION=f"Token {token}")
    assert me.status_code == 200 and me.json()["username"] == "carol"


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"username": "x", "password": "correct-horse-42"}, "username"),
        ({"username": "has space", "password": "correct-horse-42"}, "username"),
        ({"username": "dave", "password": "123"}, "password"),
        ({"username": "dave"}, "password"),
        ({"password": "correct-horse-42"}, "username"),
    ],
)
def test_signup_rejects_bad_input_naming_the_field(client_for, payload, field):
    res = client_for().post("/api/auth/signup", payload, format="json")
    assert res.status_code == 400
    assert field in res.json()


def test_signup_rejects_taken_username_case_insensitively(alice, client_for):
    res = client_for().post("/api/auth/signup", {"username": "ALICE", "password": "correct-horse-42"}, format="json")
    assert res.status_code == 400 and "taken" in res.json()["username"][0]


def test_token_login(alice, client_for):
    bad = client_for().post("/api/auth/token", {"username": "alice", "password": "nope"}, format="json")
    assert bad.status_code == 400 and "password" in bad.json()
    ok = client_for().post("/api/auth/token", {"username": "alice", "password": "correct-horse-42"}, format="json")
    assert ok.status_code == 200 and ok.json()["token"] == alice.auth_token.key


def test_follow_unfollow_and_counts(alice, bob, client_for):
    api = client_for(alice)
    res = api.post("/api/users/bob/follow")
    assert res.status_code == 200 and res.json()["is_following"] is True and res.json()["followers"] == 1
    assert api.post("/api/users/bob/follow").json()["followers"] == 1  # idempotent
    res = api.delete("/api/users/bob/follow")
    assert res.json()["is_following"] is False and res.json()["followers"] == 0
    assert api.post("/api/users/alice/follow").status_code == 400
    assert api.post("/api/users/nobody/follow").status_code == 404
    assert client_for().post("/api/users/bob/follow").status_code in (401, 403)


def test_block_ends_follows_and_prevents_new_ones(alice, bob):
    services.user_follow(follower=alice, followee=bob)
    services.user_follow(follower=bob, followee=alice)
    services.user_block(blocker=alice, blocked=bob)
    assert not Follow.objects.exists()
    assert Block.objects.filter(blocker=alice, blocked=bob).exists()
    assert selectors.user_blocked_ids(user=bob) == {alice.pk}
    with pytest.raises(ValidationError):
        services.user_follow(follower=bob, followee=alice)
    services.user_unblock(blocker=alice, blocked=bob)
    services.user_follow(follower=bob, followee=alice)


def test_block_api_conflict_is_4xx(alice, bob, client_for):
    client_for(alice).post("/api/users/bob/block")
    res = client_for(bob).post("/api/users/alice/follow")
    assert res.status_code == 409 and "username" in res.json()


def test_pages_sign_up_log_in_out_and_profile(client, db):
    res = client.post("/signup", {"username": "erin", "password": "correct-horse-42", "display_name": "Erin"})
    assert res.status_code == 302 and res["Location"] == "/create"
    assert client.get("/create").status_code == 200
    page = client.get("/u/erin")
    assert page.status_code == 200 and b"Erin" in page.content
    client.post("/logout")
    assert client.get("/create").status_code == 302
    bad = client.post("/login", {"username": "erin", "password": "wrong"})
    assert bad.status_code == 200 and b"Wrong username or password" in bad.content
    assert client.post("/login", {"username": "erin", "password": "correct-horse-42"}).status_code == 302
    taken = client.post("/signup", {"username": "erin", "password": "correct-horse-42"})
    assert taken.status_code == 302  # already signed in: sent to the feed
    assert client.get("/u/nobody").status_code == 404
