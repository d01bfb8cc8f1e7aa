"""The generation API: clear 4xx JSON naming the field, never a 500; nobody touches what is not theirs."""
import uuid

import pytest

from generation import services
from generation.models import GenerationJob

pytestmark = pytest.mark.django_db
S = GenerationJob.Status


@pytest.mark.parametrize(
    "payload, field",
    [
        ({}, "prompt"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": "    "}, "prompt"),
        ({"prompt": "x" * 501}, "prompt"),
        ({"prompt": "x" * 100_000}, "prompt"),
        ({"prompt": 12}, "prompt"),
        ({"prompt": "a red circle", "seed": "abc"}, "seed"),
        ({"prompt": "a red circle", "seed": -1}, "seed"),
        ({"prompt": "a red circle", "seed": 2**31}, "seed"),
        ({"prompt": "a red circle", "seed": 10**40}, "seed"),
        ({"prompt": "a red circle", "seed": 1.5}, "seed"),
        ({"prompt": "a red circle", "seed": True}, "seed"),
        ({"prompt": "a red circle", "steps": 0}, "steps"),
        ({"prompt": "a red circle", "steps": 1000}, "steps"),
        ({"prompt": "a red circle", "guidance": "lots"}, "guidance"),
        ({"prompt": "a red circle", "guidance": 99}, "guidance"),
        ({"prompt": "a red circle", "parent": 999999}, "parent"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(alice, client_for, payload, field):
    res = client_for(alice).post("/api/generations", payload, format="json")
    assert res.status_code == 400, res.content
    body = res.json()
    assert field in body, body
    assert not GenerationJob.objects.exists()


def test_malformed_json_is_a_400(alice, client_for):
    res = client_for(alice).post("/api/generations", "{not json", content_type="application/json")
    assert res.status_code == 400 and "detail" in res.json()


def test_anonymous_cannot_create(client_for):
    assert client_for().post("/api/generations", {"prompt": "a red circle"}, format="json").status_code in (401, 403)


def test_create_read_and_list(alice, client_for):
    res = client_for(alice).post("/api/generations", {"prompt": "a red circle", "seed": 5, "steps": 4}, format="json")
    assert res.status_code == 201
    job = res.json()
    assert job["status"] == "queued" and job["websocket"] == f"/ws/jobs/{job['id']}/"
    assert client_for(alice).get(f"/api/generations/{job['id']}").json()["seed"] == 5
    assert [j["id"] for j in client_for(alice).get("/api/generations").json()["results"]] == [job["id"]]


def test_unknown_and_other_users_jobs_are_404(alice, bob, staff, client_for):
    job = services.job_create(owner=alice, prompt="a red circle", steps=4)
    for path in (f"/api/generations/{uuid.uuid4()}", "/api/generations/not-a-uuid"):
        res = client_for(alice).get(path)
        assert res.status_code == 404 and "detail" in res.json()
    assert client_for(bob).get(f"/api/generations/{job.pk}").status_code == 404
    assert client_for(bob).post(f"/api/generations/{job.pk}/cancel").status_code == 404
    assert client_for(bob).post(f"/api/generations/{job.pk}/retry").status_code == 404
    assert client_for(bob).get("/api/generations").json()["results"] == []
    assert client_for(staff).get(f"/api/generations/{job.pk}").status_code == 200
    job.refresh_from_db()
    assert job.status == S.QUEUED and not job.cancel_requested


def test_cancel_and_cancel_of_a_finished_job(alice, client_for):
    job = services.job_create(owner=alice, prompt="a red circle", steps=4)
    res = client_for(alice).post(f"/api/generations/{job.pk}/cancel")
    assert res.status_code == 200 and res.json()["status"] == "canceled"
    again = client_for(alice).post(f"/api/generations/{job.pk}/cancel")
    assert again.status_code == 409
    assert "already canceled" in again.json()["status"][0]


def test_retry_of_a_job_that_did_not_fail_is_409(alice, client_for):
    job = services.job_create(owner=alice, prompt="a red circle", steps=4)
    res = client_for(alice).post(f"/api/generations/{job.pk}/retry")
    assert res.status_code == 409 and "status" in res.json()
