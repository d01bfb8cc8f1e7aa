"""C2PA provenance: the signing certificate, manifests on generated clips (created and remixed), the
verify endpoint, and tamper detection."""
import io
import json

import numpy as np
import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from django.core.management import call_command
from rest_framework.test import APIClient

from generation.dit.video_io import mp4_bytes
from safety.provenance import TRAINED, mp4_sign, mp4_verify, signing_dir


def _clip(seed=0):
    frames = (np.random.default_rng(seed).random((16, 32, 32, 3)) * 255).astype("uint8")
    return mp4_bytes(frames, fps=8)


def _actions(manifest):
    for a in manifest["assertions"]:
        if a["label"].startswith("c2pa.actions"):
            return a["data"]["actions"]
    raise AssertionError("no actions assertion")


def test_keygen_command_makes_an_es256_chain_with_the_right_usages():
    out = io.StringIO()
    call_command("provenance_keygen", "--name", "Test Instance", stdout=out)
    assert "Created" in out.getvalue()
    certs = x509.load_pem_x509_certificates((signing_dir() / "signer.pem").read_bytes())
    ee, ca = certs
    assert ee.issuer == ca.subject
    assert ee.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in ee.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    first = (signing_dir() / "signer.key").read_bytes()
    call_command("provenance_keygen", stdout=io.StringIO())  # keeps the existing key
    assert (signing_dir() / "signer.key").read_bytes() == first


def test_a_signed_clip_is_trusted_marked_ai_and_carries_seed_and_model():
    signed = mp4_sign(mp4=_clip(), title="clip.mp4", seed=123, model_version="dit-test", creator="alice")
    result = mp4_verify(mp4=signed)
    assert result["state"] == "Trusted"
    first = _actions(result["manifest"])[0]
    assert first["action"] == "c2pa.created"
    assert first["digitalSourceType"] == TRAINED
    gen = next(a["data"] for a in result["manifest"]["assertions"] if a["label"] == "org.spacetime.generation")
    assert gen["seed"] == 123 and gen["model_version"] == "dit-test" and gen["creator"] == "alice"
    # without this instance's CA as trust anchor the signature is still valid, just not trusted
    assert mp4_verify(mp4=signed, trust_instance=False)["state"] == "Valid"


def test_a_remix_names_its_parent_and_one_flipped_byte_invalidates_it():
    parent = mp4_sign(mp4=_clip(1), title="p.mp4", seed=1, model_version="m")
    child = mp4_sign(mp4=_clip(2), title="c.mp4", seed=2, model_version="m", parent_mp4=parent, parent_id="77")
    result = mp4_verify(mp4=child)
    assert result["state"] == "Trusted"
    assert result["parent"] == "video 77"
    first = _actions(result["manifest"])[0]
    assert first["action"] == "c2pa.opened"
    ingredient = result["manifest"]["ingredients"][0]
    assert ingredient["relationship"] == "parentOf" and ingredient.get("active_manifest")  # parent keeps its own
    tampered = bytearray(child)
    tampered[len(tampered) - 100] ^= 0x01  # inside the video data
    assert mp4_verify(mp4=bytes(tampered))["state"] == "Invalid"


def test_unsigned_file_has_no_manifest():
    assert mp4_verify(mp4=_clip())["state"] == "None"


@pytest.mark.django_db
def test_verify_endpoint():
    from django.core.files.uploadedfile import SimpleUploadedFile
    from rest_framework.test import APIClient

    signed = mp4_sign(mp4=_clip(), title="clip.mp4", seed=5, model_version="m")
    client = APIClient()
    res = client.post("/api/provenance/verify", {"file": SimpleUploadedFile("a.mp4", signed, "video/mp4")},
                      format="multipart")
    assert res.status_code == 200, res.content
    body = res.json()
    assert body["state"] == "Trusted" and body["valid"] and body["generation"]["seed"] == 5
    res = client.post("/api/provenance/verify", {}, format="multipart")
    assert res.status_code == 400 and "file" in res.json()
    bad = bytearray(signed)
    bad[len(bad) - 100] ^= 0x01
    res = client.post("/api/provenance/verify", {"file": SimpleUploadedFile("b.mp4", bytes(bad), "video/mp4")},
                      format="multipart")
    assert res.status_code == 200 and res.json()["state"] == "Invalid" and not res.json()["valid"]
    json.dumps(body)


@pytest.mark.django_db(transaction=True)
def test_the_worker_stores_signed_clips_and_remixes_cite_the_parent(alice, pipeline):
    from generation import services

    job = services.job_create(owner=alice, prompt="a blue square moving up on a yellow background", seed=11, steps=2)
    assert services.job_run(job_id=job.pk, worker="test") == "succeeded"
    job.refresh_from_db()
    with job.video.file.open("rb") as fh:
        result = mp4_verify(mp4=fh.read())
    assert result["state"] == "Trusted"
    gen = next(a["data"] for a in result["manifest"]["assertions"] if a["label"] == "org.spacetime.generation")
    assert gen["seed"] == 11 and gen["model_version"] == pipeline.model_version
    assert result["parent"] is None


def _shards_sha256() -> str:
    import hashlib

    from generation.dit.pipeline import WEIGHTS_DIR

    digest = hashlib.sha256()
    for shard in sorted(WEIGHTS_DIR.glob("*.safetensors")):
        digest.update(shard.read_bytes())
    return digest.hexdigest()


@pytest.mark.django_db(transaction=True)
def test_a_remix_jobs_manifest_validates_names_its_parent_video_and_a_flipped_byte_fails_it(alice, bob, pipeline):
    """Through the worker: seed, the weights' sha256 and the job are in every manifest; a remix's
    manifest names its parent video as a parentOf ingredient; the verify page and API show the
    lineage on this instance; one flipped byte makes validation fail."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    from feed.services import video_publish
    from generation import services

    parent_job = services.job_create(owner=alice, prompt="a red circle moving right on a blue background", seed=5, steps=2)
    assert services.job_run(job_id=parent_job.pk, worker="test") == "succeeded"
    parent_job.refresh_from_db()
    parent = video_publish(video=parent_job.video, user=alice, visibility="public")
    job = services.job_create(owner=bob, prompt="a green circle moving right on a blue background", parent=parent,
                              mode="remix", steps=2)
    assert services.job_run(job_id=job.pk, worker="test") == "succeeded"
    job.refresh_from_db()
    child = video_publish(video=job.video, user=bob, visibility="public")
    with child.file.open("rb") as fh:
        signed = fh.read()

    result = mp4_verify(mp4=signed)
    assert result["state"] == "Trusted" and result["parent"] == f"video {parent.pk}"
    ingredient = result["manifest"]["ingredients"][0]
    assert ingredient["relationship"] == "parentOf" and ingredient.get("active_manifest")
    gen = next(a["data"] for a in result["manifest"]["assertions"] if a["label"] == "org.spacetime.generation")
    assert gen["parent_video"] == str(parent.pk) and gen["job"] == str(job.pk) and gen["creator"] == "bob"
    assert gen["seed"] == job.seed and gen["model_weights_sha256"] == _shards_sha256()
    assert _actions(result["manifest"])[0]["parameters"]["model_weights_sha256"] == _shards_sha256()

    res = APIClient().post("/api/provenance/verify", {"file": SimpleUploadedFile("c.mp4", signed, "video/mp4")},
                           format="multipart")
    assert res.json()["lineage"] == {"resolved": True, "video": child.pk, "parent": parent.pk,
                                     "parent_id": parent.pk, "lineage_url": f"/v/{child.pk}/lineage"}
    page = Client().post("/verify", {"file": SimpleUploadedFile("c.mp4", signed, "video/mp4")})
    html = page.content.decode()
    assert page.status_code == 200 and "Signed by this instance, intact" in html
    assert f'href="/v/{child.pk}/lineage"' in html and f'href="/v/{parent.pk}"' in html
    assert _shards_sha256() in html

    tampered = bytearray(signed)
    tampered[len(tampered) - 100] ^= 0x01  # one bit of the video data
    assert mp4_verify(mp4=bytes(tampered))["state"] == "Invalid"
    page = Client().post("/verify", {"file": SimpleUploadedFile("t.mp4", bytes(tampered), "video/mp4")})
    assert "Tampered" in page.content.decode() and f"/v/{child.pk}/lineage" not in page.content.decode()


@pytest.mark.django_db
def test_the_verify_page_asks_for_a_file():
    from django.test import Client

    assert Client().get("/verify").status_code == 200
    res = Client().post("/verify", {})
    assert res.status_code == 400 and "Choose an MP4 file" in res.content.decode()
