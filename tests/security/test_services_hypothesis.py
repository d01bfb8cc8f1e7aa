"""Property tests on the services that take people's input: whatever arrives, the answer is the
thing made or a ValidationError (a 4xx) naming the field, never another exception (a 500).

SPACETIME_FUZZ_EXAMPLES (default 25 here: the CI run) sets examples per property."""
import os

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("SPACETIME_FUZZ_EXAMPLES", "25"))
fuzz = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))

anything = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(),
                     st.binary(max_size=20), st.lists(st.integers(), max_size=3),
                     st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
hostile_text = st.one_of(st.text(), st.text(alphabet=st.characters(codec="utf-8"), min_size=400, max_size=2000),
                         st.sampled_from(["", " ", "\x00", "<script>alert(1)</script>", "' OR 1=1 --", "\u202e",
                                          "a" * 10_000, "💥" * 600, "@" * 40, "${jndi:ldap://x}", "nul\x00byte"]))


def _names_fields(exc: ValidationError, allowed: set[str]) -> None:
    assert hasattr(exc, "error_dict") and set(exc.message_dict) <= allowed, exc


@fuzz
@given(prompt=st.one_of(hostile_text, anything), seed=anything, steps=anything, guidance=anything)
def test_job_validate(prompt, seed, steps, guidance):
    from generation.services import job_validate

    try:
        out = job_validate(prompt=prompt, seed=seed, steps=steps, guidance=guidance)
    except ValidationError as exc:
        _names_fields(exc, {"prompt", "seed", "steps", "guidance"})
    else:
        assert out["prompt"] and 1 <= out["steps"] <= 100 and 0 <= out["seed"] < 2**31


@fuzz
@given(prompt=hostile_text, seed=st.one_of(st.none(), st.integers()), steps=st.one_of(st.none(), st.integers(-5, 200)))
def test_job_create(db, make_user, prompt, seed, steps):
    from config.exceptions import Conflict
    from generation.services import job_create

    owner = make_user()
    try:
        job = job_create(owner=owner, prompt=prompt, seed=seed, steps=steps)
    except Conflict:
        pass
    except ValidationError as exc:
        _names_fields(exc, {"prompt", "seed", "steps", "guidance", "mode", "parent", "strength", "cameos"})
    else:
        assert job.status == "queued" and job.prompt == prompt.strip()


@fuzz
@given(username=hostile_text, password=hostile_text, display_name=hostile_text, email=hostile_text)
def test_user_create(db, username, password, display_name, email):
    from accounts.services import user_create

    try:
        user = user_create(username=username, password=password, display_name=display_name, email=email)
    except ValidationError as exc:
        _names_fields(exc, {"username", "password", "display_name", "email"})
    else:
        assert user.check_password(password)


@fuzz
@given(display_name=st.one_of(st.none(), hostile_text), bio=st.one_of(st.none(), hostile_text))
def test_user_update_profile(db, make_user, display_name, bio):
    from accounts.services import user_update_profile

    user = make_user()
    try:
        user_update_profile(user=user, display_name=display_name, bio=bio)
    except ValidationError as exc:
        _names_fields(exc, {"display_name", "bio"})


@pytest.fixture
def public_video(db, make_user):
    from tests.security.world import mp4_bytes, png_bytes

    from feed.services import video_create_draft, video_publish

    owner = make_user("poster")
    video = video_create_draft(owner=owner, prompt="a red square", seed=1, model_version="t", mp4=mp4_bytes(),
                               poster_png=png_bytes(), width=16, height=16, frame_count=4, fps=8)
    return video_publish(video=video, user=owner, visibility="public")


@fuzz
@given(body=st.one_of(hostile_text, anything))
def test_comment_create(public_video, make_user, body):
    from feed.services import comment_create

    try:
        comment = comment_create(video=public_video, author=public_video.owner, body=body)
    except ValidationError as exc:
        _names_fields(exc, {"body"})
    else:
        assert comment.body == body.strip()


@fuzz
@given(caption=st.one_of(st.none(), hostile_text), visibility=st.one_of(st.none(), hostile_text),
       allow_remix=st.one_of(st.none(), anything))
def test_video_update(public_video, caption, visibility, allow_remix):
    from feed.services import video_update

    try:
        video_update(video=public_video, user=public_video.owner, caption=caption, visibility=visibility,
                     allow_remix=allow_remix)
    except (ValidationError, PermissionDenied) as exc:
        if isinstance(exc, ValidationError):
            _names_fields(exc, {"caption", "visibility", "allow_remix"})
