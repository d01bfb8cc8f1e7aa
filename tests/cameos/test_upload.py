"""Uploading a cameo: what is accepted (PNG, JPEG, WebP by content, face-free pictures too), what
is refused with a 400 naming the field (other types, too many bytes or pixels, damaged files,
decompression bombs, handles), what is stored (PNG, upright, no EXIF), and that deleting a cameo
deletes its stored picture. And likeness protection: someone else's picture, also resized,
recompressed or slightly cropped, is refused."""
import io
import time

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from benchmarks.cameos.pictures import encode, picture, variants
from cameos.models import Cameo
from cameos.pictures import MAX_BYTES, MAX_PIXELS

pytestmark = pytest.mark.django_db


def _upload(client, data: bytes, *, handle="ana_cam", name="me.png", permission="only_me"):
    return client.post("/api/cameos", {"handle": handle, "permission": permission,
                                       "image": SimpleUploadedFile(name, data)}, format="multipart")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_png_jpeg_and_webp_are_accepted_and_stored_as_png(alice, client_for, picture_bytes, fmt):
    r = _upload(client_for(alice), picture_bytes(1, "photo", fmt=fmt), name="whatever.bin")
    assert r.status_code == 201, r.json()
    cameo = Cameo.objects.get(handle="ana_cam")
    with cameo.image.open("rb") as fh:
        stored = Image.open(io.BytesIO(fh.read()))
        assert stored.format == "PNG" and stored.mode == "RGB" and stored.size == (256, 256)
    assert r.json()["image_url"] == "/api/cameos/ana_cam/image"
    assert client_for(alice).get(r.json()["image_url"])["Content-Type"] == "image/png"


def test_a_picture_without_a_face_is_fine(alice, client_for, picture_bytes):
    assert _upload(client_for(alice), picture_bytes(3, "gradient")).status_code == 201


def _bomb_png(side: int) -> bytes:
    """A PNG of side x side black pixels: a few kilobytes that would expand to side^2 * 3 bytes."""
    img = Image.new("1", (side, side))
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


@pytest.mark.parametrize("data, name, words", [
    (b"GIF89a" + b"\x00" * 100, "me.png", "PNG, JPEG or WebP"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "me.svg", "PNG, JPEG or WebP"),
    (b"%PDF-1.4 not a picture", "me.jpg", "PNG, JPEG or WebP"),
    (b"", "me.png", "empty"),
])
def test_other_content_is_refused_by_content_not_name(alice, client_for, data, name, words):
    r = _upload(client_for(alice), data, name=name)
    assert r.status_code == 400 and "image" in r.json() and words in str(r.json()["image"]), r.json()
    assert not Cameo.objects.exists()


def test_a_gif_is_refused_even_when_pillow_could_read_it(alice, client_for, picture_bytes):
    gif = encode(picture("shapes", 1), "GIF")
    r = _upload(client_for(alice), gif, name="me.png")
    assert r.status_code == 400 and "PNG, JPEG or WebP" in r.json()["image"][0]


def test_a_decompression_bomb_is_refused_from_its_header_without_decoding(alice, client_for):
    side = int((MAX_PIXELS * 4) ** 0.5)  # 4x the pixel limit, in a few KB
    data = _bomb_png(side)
    assert len(data) < 200_000
    start = time.perf_counter()
    r = _upload(client_for(alice), data)
    assert r.status_code == 400 and "too many pixels" in r.json()["image"][0]
    assert time.perf_counter() - start < 2.0  # never expanded (that would be ~300 MB of pixels)


def test_too_many_bytes_too_small_and_damaged_pictures_are_refused(alice, client_for, picture_bytes):
    client = client_for(alice)
    big = _upload(client, b"\x89PNG\r\n\x1a\n" + b"\x00" * (MAX_BYTES + 1))
    assert big.status_code == 400 and "too large" in big.json()["image"][0]
    small = _upload(client, encode(picture("face", 1, size=32), "PNG"))
    assert small.status_code == 400 and "too small" in small.json()["image"][0]
    whole = picture_bytes(2, "photo", fmt="JPEG")
    cut = _upload(client, whole[: len(whole) // 2])
    assert cut.status_code == 400 and "damaged" in cut.json()["image"][0]


def test_exif_is_stripped_and_the_picture_turned_upright(alice, client_for):
    img = Image.new("RGB", (200, 100), (200, 30, 30))
    img.paste((30, 30, 200), (0, 0, 100, 100))  # left half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to show
    exif[0x010F] = "SecretCam"  # make
    exif[0x8825] = {1: "N", 2: (52.0, 22.0, 0.0)}  # GPS
    data = encode(img, "JPEG", exif=exif.tobytes(), quality=95)
    assert b"SecretCam" in data
    r = _upload(client_for(alice), data)
    assert r.status_code == 201
    cameo = Cameo.objects.get()
    with cameo.image.open("rb") as fh:
        raw = fh.read()
    stored = Image.open(io.BytesIO(raw))
    assert b"SecretCam" not in raw and not stored.getexif() and "exif" not in stored.info
    assert stored.size == (100, 200)  # upright: the orientation was applied, then dropped
    top = np.asarray(stored)[10, 50]
    assert top[2] > 150 and top[0] < 80  # the blue half is on top after the rotation


def test_transparency_is_flattened_on_white(alice, client_for):
    img = Image.new("RGBA", (128, 128), (0, 0, 0, 0))
    img.paste((10, 200, 10, 255), (32, 32, 96, 96))
    assert _upload(client_for(alice), encode(img, "PNG")).status_code == 201
    with Cameo.objects.get().image.open("rb") as fh:
        stored = np.asarray(Image.open(io.BytesIO(fh.read())))
    assert tuple(stored[0, 0]) == (255, 255, 255) and tuple(stored[64, 64]) == (10, 200, 10)


@pytest.mark.parametrize("handle, words", [
    ("a", "3 to 30"), ("has space", "3 to 30"), ("x" * 31, "3 to 30"), ("bob", "someone else's username"),
])
def test_bad_handles_are_refused_naming_the_field(alice, bob, client_for, picture_bytes, handle, words):
    r = _upload(client_for(alice), picture_bytes(4), handle=handle)
    assert r.status_code == 400 and words in str(r.json()["handle"]), r.json()


def test_a_handle_is_unique_and_freed_when_its_cameo_is_deleted(alice, bob, client_for, picture_bytes):
    assert _upload(client_for(alice), picture_bytes(5), handle="Star").status_code == 201
    taken = _upload(client_for(bob), picture_bytes(6), handle="star")
    assert taken.status_code == 400 and "taken" in taken.json()["handle"][0]
    assert client_for(alice).delete("/api/cameos/star").status_code == 204
    assert _upload(client_for(bob), picture_bytes(6), handle="star").status_code == 201


def test_bad_permission_and_missing_fields_are_400(alice, client_for, picture_bytes):
    r = _upload(client_for(alice), picture_bytes(7), permission="friends")
    assert r.status_code == 400 and "permission" in r.json()
    r = client_for(alice).post("/api/cameos", {"handle": "ana_cam"}, format="multipart")
    assert r.status_code == 400 and "image" in r.json()
    assert client_for(None).post("/api/cameos", {}).status_code in (401, 403)


def test_deleting_a_cameo_deletes_its_stored_picture(alice, client_for, make_cameo, django_capture_on_commit_callbacks):
    cameo = make_cameo(alice, "ana_cam")
    name = cameo.image.name
    assert name.startswith("cameos/") and default_storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(alice).delete("/api/cameos/ana_cam").status_code == 204
    assert not default_storage.exists(name)
    cameo.refresh_from_db()
    assert cameo.status == "deleted" and not cameo.image and cameo.fingerprint == b""
    assert client_for(alice).get("/api/cameos/ana_cam").status_code == 404


# --- likeness protection ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind, seed", [("face", 11), ("photo", 12), ("shapes", 13)])
def test_someone_elses_picture_is_refused_also_edited(alice, bob, client_for, picture_bytes, kind, seed):
    original = picture(kind, seed)
    assert _upload(client_for(alice), encode(original, "PNG"), handle="ana_cam").status_code == 201
    import random

    for name, edited in variants(original, random.Random(seed)).items():
        r = _upload(client_for(bob), encode(edited, "JPEG", quality=90), handle=f"bob_{name.replace('-', '_')}"[:30])
        assert r.status_code == 400 and "matches a cameo that someone else registered" in r.json()["image"][0], name
    assert Cameo.objects.count() == 1


def test_different_pictures_are_accepted_and_the_owner_may_reuse_their_own(alice, bob, client_for, picture_bytes):
    for i, kind in enumerate(["face", "photo", "shapes", "texture", "gradient"]):
        assert _upload(client_for(alice), picture_bytes(20 + i, kind), handle=f"alice_{kind}").status_code == 201
    Cameo.objects.filter(owner=alice).exclude(handle="alice_face").delete()
    for i, kind in enumerate(["face", "photo", "shapes", "texture", "gradient"]):
        r = _upload(client_for(bob), picture_bytes(40 + i, kind), handle=f"bob_{kind}")
        assert r.status_code == 201, (kind, r.json())
    # the same picture again by its owner (a second cameo of oneself) is not someone else's likeness
    assert _upload(client_for(alice), picture_bytes(20, "face"), handle="alice_again").status_code == 201


def test_a_revoked_cameo_still_protects_its_likeness(alice, bob, client_for, make_cameo, picture_bytes):
    cameo = make_cameo(alice, "ana_cam", image=picture_bytes(31, "photo"))
    from cameos.services import cameo_revoke

    cameo_revoke(cameo=cameo, user=alice)
    assert _upload(client_for(bob), picture_bytes(31, "photo", fmt="JPEG", quality=60), handle="bob_cam").status_code == 400
