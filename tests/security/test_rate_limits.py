"""Login brute force, sign-up floods and write floods are throttled with a clear 429; the limits
come from settings.THROTTLE_RATES (environment THROTTLE_*)."""
import uuid

import pytest
from django.test import Client
from rest_framework.test import APIClient


@pytest.fixture
def strict(settings):
    settings.THROTTLE_RATES = {"login": "5/minute", "login_ip": "8/minute", "signup": "3/hour", "write": "4/minute"}


def _addr() -> str:  # every test its own client address: counters never leak between tests
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"


def test_token_login_brute_force_gets_429_even_with_the_right_password(strict, make_user):
    make_user("victim")
    client, addr = APIClient(), _addr()
    for _ in range(5):
        res = client.post("/api/auth/token", {"username": "victim", "password": "wrong-guess-1"}, REMOTE_ADDR=addr)
        assert res.status_code == 400 and "password" in res.json()
    res = client.post("/api/auth/token", {"username": "victim", "password": "correct-horse-42"}, REMOTE_ADDR=addr)
    assert res.status_code == 429 and "throttled" in res.json()["detail"].lower()
    assert int(res["Retry-After"]) > 0
    # another address is not locked out by the attacker
    res = client.post("/api/auth/token", {"username": "victim", "password": "correct-horse-42"}, REMOTE_ADDR=_addr())
    assert res.status_code == 200 and res.json()["token"]


def test_spraying_many_usernames_from_one_address_gets_429(strict, make_user):
    client, addr = APIClient(), _addr()
    codes = [client.post("/api/auth/token", {"username": f"guess{i}", "password": "x"}, REMOTE_ADDR=addr).status_code
             for i in range(10)]
    assert codes[:8] == [400] * 8 and codes[8:] == [429, 429]


def test_login_page_brute_force_gets_429_with_a_message(strict, make_user):
    make_user("victim")
    client, addr = Client(), _addr()
    for _ in range(5):
        res = client.post("/login", {"username": "victim", "password": "nope-nope-1"}, REMOTE_ADDR=addr)
        assert res.status_code == 200 and b"Wrong username or password" in res.content
    res = client.post("/login", {"username": "victim", "password": "correct-horse-42"}, REMOTE_ADDR=addr)
    assert res.status_code == 429 and b"Too many attempts" in res.content
    assert "_auth_user_id" not in client.session  # not signed in, even with the right password


def test_signup_flood_gets_429(strict, db):
    client, addr = APIClient(), _addr()
    codes = [client.post("/api/auth/signup", {"username": f"new_{i}_{uuid.uuid4().hex[:6]}", "password": "correct-horse-42"},
                         REMOTE_ADDR=addr).status_code for i in range(4)]
    assert codes == [201, 201, 201, 429]


def test_write_flood_gets_429_per_user_and_reads_still_work(strict, make_user):
    user = make_user("chatty")
    client = APIClient()
    client.force_authenticate(user)
    codes = [client.patch("/api/me", {"bio": f"bio {i}"}, format="json").status_code for i in range(5)]
    assert codes == [200, 200, 200, 200, 429]
    assert client.get("/api/me").status_code == 200
