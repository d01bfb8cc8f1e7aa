"""Hostile files against every upload endpoint in the OpenAPI schema (multipart operations with a
binary field): no 500, a clear 4xx for what is not an acceptable file, and nothing dangerous kept
(no script, no SVG, no GPS EXIF in stored media)."""
import pytest
from rest_framework.test import APIClient

from .endpoints import api_operations, body_schema, file_fields, resolve_ref
from .hostile_files import GPS_MARKER, HOSTILE_FILES, HTML_MARKER
from .world import build_world

UPLOADS = [(m, p, op) for m, p, op in api_operations() if file_fields(op)]


def test_the_schema_has_upload_endpoints():
    assert ("POST", "/api/provenance/verify") in [(m, p) for m, p, _ in UPLOADS]


def _form(op: dict) -> dict:
    """Values for the non-file fields of a multipart body (enums: the first choice)."""
    out = {}
    schema = body_schema(op, "multipart/form-data") or {}
    for name, prop in schema.get("properties", {}).items():
        prop = resolve_ref(prop)
        if prop.get("format") == "binary" or prop.get("readOnly"):
            continue
        out[name] = (prop.get("enum") or ["test-upload"])[0]
    return out


def _stored_bytes(media_root) -> list[bytes]:
    return [p.read_bytes() for p in media_root.rglob("*") if p.is_file()] if media_root.exists() else []


@pytest.fixture
def uploader(make_user, settings):
    world = build_world(make_user)
    client = APIClient()
    client.force_authenticate(world.other)
    return client


@pytest.mark.parametrize("hostile", HOSTILE_FILES, ids=[h.name for h in HOSTILE_FILES])
@pytest.mark.parametrize("method,path,op", UPLOADS, ids=[f"{m} {p}" for m, p, _ in UPLOADS])
def test_hostile_upload(uploader, settings, method, path, op, hostile):
    from django.core.files.uploadedfile import SimpleUploadedFile

    before = set(map(bytes, _stored_bytes(settings.MEDIA_ROOT)))
    data = _form(op)
    payload = hostile.make()
    for field in file_fields(op):
        data[field] = SimpleUploadedFile(hostile.filename, payload, content_type=hostile.content_type)
    res = getattr(uploader, method.lower())(path, data, format="multipart")
    assert res.status_code < 500, (hostile.name, res.status_code, res.content[:300])
    if hostile.must_refuse:
        assert 400 <= res.status_code < 500, (hostile.name, res.status_code, res.content[:300])
        assert res.json(), "a refusal says why"
    for blob in _stored_bytes(settings.MEDIA_ROOT):
        if blob in before:
            continue
        assert HTML_MARKER not in blob and b"<svg" not in blob, f"{hostile.name}: script kept in stored media"
        assert GPS_MARKER not in blob, f"{hostile.name}: EXIF (location) kept in stored media"
