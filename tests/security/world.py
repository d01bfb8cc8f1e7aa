"""A small world to attack: an owner with private things (each carrying a secret marker that no one
else may ever read), another user, staff, anonymous; and the URL parameters that name those things.

`owner_state()` fingerprints everything the owner owns (every row of every model that points at
the owner through an owner-like field, and the owner's own row), so a test can prove that a
request by someone else changed none of it."""
import io
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from django.apps import apps
from django.conf import settings
from django.db import models
from PIL import Image

SECRET = "zq-secret-7f3a"  # in every private prompt, caption, comment and profile field of the owner
OWNER_FIELDS = ("owner", "author", "user", "creator", "uploader", "subject", "granter", "grantor")


@lru_cache(maxsize=8)
def png_bytes(size=(8, 8), color=(220, 50, 50)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


@lru_cache(maxsize=1)
def mp4_bytes() -> bytes:
    from generation.dit.video_io import mp4_bytes as encode

    frames = np.zeros((4, 16, 16, 3), np.uint8)
    frames[:, 4:12, 4:12] = (220, 50, 50)
    return encode(frames, fps=8)


@dataclass
class World:
    owner: object
    other: object
    staff: object
    private_videos: dict = field(default_factory=dict)  # kind -> Video
    public_video: object = None
    job: object = None
    comment: object = None

    def users(self) -> dict:
        return {"owner": self.owner, "other": self.other, "staff": self.staff, "anonymous": None}

    def path_values(self, name: str) -> list:
        """Values for a URL parameter that name the owner's private things (several for videos)."""
        if name in ("video_id", "pk") or name.endswith("video_id"):
            return [v.pk for v in self.private_videos.values()]
        if name == "job_id":
            return [str(self.job.pk)]
        if name == "comment_id":
            return [self.comment.pk]
        found = _owned_object_ids(name, self.owner)
        if found:
            return found
        if name in ("username", "handle"):
            return [self.owner.username]
        raise LookupError(
            f"The authz matrix does not know what URL parameter {name!r} names: give it owner-private "
            f"objects in tests/security/world.py (World.path_values) so the endpoint is tested.")


def _owned_object_ids(param: str, owner) -> list:
    """`cameo_id` -> the owner's Cameo rows (a model named like the parameter, owned through an
    owner-like field); `attribute` -> the `attribute` values of rows the owner owns. New apps'
    endpoints are covered once the owner has such rows (World.extras makes some)."""
    stem = param.removesuffix("_id").replace("_", "")
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    for model in apps.get_models():
        for name in OWNER_FIELDS:
            f = _field(model, name)
            if f is None or not f.is_relation or f.related_model != user_model:
                continue
            owned = model.objects.filter(**{name: owner})
            if param.endswith("_id") and (model._meta.model_name.startswith(stem)
                                          or model._meta.model_name.endswith(stem)):
                found = list(owned.values_list("pk", flat=True)[:3])
            elif not param.endswith("_id") and _field(model, param) is not None:
                found = list(owned.values_list(param, flat=True)[:3])
            else:
                continue
            if found:
                return found
    if param.endswith("_id"):  # a child row of an owned one (a cameo's restriction): one hop
        for model in apps.get_models():
            name = model._meta.model_name
            if not (name.startswith(stem) or name.endswith(stem)):
                continue
            for f in model._meta.concrete_fields:
                if not isinstance(f, models.ForeignKey):
                    continue
                for owner_field in OWNER_FIELDS:
                    g = _field(f.related_model, owner_field)
                    if g is not None and g.is_relation and g.related_model == user_model:
                        found = list(model.objects.filter(**{f"{f.name}__{owner_field}": owner})
                                     .values_list("pk", flat=True)[:3])
                        if found:
                            return found
    return []


def _extras(owner, png: bytes, job) -> None:
    """Owner-private rows of apps that exist in this checkout (cameos, personalization, moderation)."""
    try:
        cameo_model = apps.get_model("cameos", "Cameo")
    except LookupError:
        cameo_model = None
    if cameo_model is not None:
        from cameos.services import cameo_create, restriction_add

        rng = np.random.default_rng(7)  # a picture with structure (flat ones are refused)
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buf, format="PNG")
        cameo = cameo_create(owner=owner, handle="ann_face", image=buf.getvalue())
        restriction_add(cameo=cameo, user=owner, text=f"never in ads {SECRET}")
        apps.get_model("cameos", "CameoUse").objects.create(cameo=cameo, job=job, user=owner)
    try:
        chip_model = apps.get_model("feed", "SteeringChip")
    except LookupError:
        chip_model = None
    if chip_model is not None:
        chip_model.objects.create(user=owner, attribute="colour:purple", weight=2.0, phrase=f"more purple {SECRET}")
    try:
        frames_model = apps.get_model("moderation", "FlaggedFrames")
    except LookupError:
        frames_model = None
    if frames_model is not None:
        frames_model.objects.create(user=owner, prompt=f"flagged {SECRET}", reason="test", frames_png=png)


def _field(model, name):
    try:
        return model._meta.get_field(name)
    except Exception:
        return None


def owner_state(owner) -> dict:
    """Every row the owner owns, by model and primary key, as plain values (plus the owner's own
    row); and, for every foreign key that points at one of those rows, how many rows point there."""
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    rows: dict[tuple[str, object], dict] = {("user", owner.pk): user_model.objects.filter(pk=owner.pk).values().first()}
    owned: dict[type, set] = {}
    for model in apps.get_models():
        for name in OWNER_FIELDS:
            f = _field(model, name)
            if isinstance(f, models.ForeignKey) and f.related_model == user_model:
                for r in model.objects.filter(**{name: owner}).values():
                    rows[(model._meta.label, r[model._meta.pk.attname])] = _plain(r)
                    owned.setdefault(model, set()).add(r[model._meta.pk.attname])
    references = {}
    for model in apps.get_models():
        for f in model._meta.get_fields():
            if isinstance(f, (models.ForeignKey, models.OneToOneField)) and f.related_model in owned:
                label = f"{model._meta.label}.{f.name}"
                references[label] = model.objects.filter(**{f"{f.name}__in": owned[f.related_model]}).count()
    return {"rows": rows, "references": references}


def owner_changes(before: dict, after: dict) -> list[str]:
    """What changed in what the owner owns: rows edited or deleted, rows pointing at them added or
    removed.
    (New rows about the owner made by others, such as a follow or a report of the account, are not
    the owner's rows and are not counted.)"""
    changes = [f"{key} changed" for key, row in before["rows"].items() if after["rows"].get(key) != row]
    changes += [f"rows added or removed in {label}" for label, n in after["references"].items()
                if n != before["references"].get(label, 0)]
    return changes


def _plain(row: dict) -> dict:
    # progress fields a worker may advance on its own are not a change made by the request
    return {k: v for k, v in row.items() if k not in ("heartbeat_at", "last_login")}


def build_world(make_user) -> World:
    from feed.services import comment_create, video_create_draft, video_publish
    from generation.models import GenerationJob

    owner, other, staff = make_user("owner_ann"), make_user("other_bob"), make_user("staff_sam")
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    owner.display_name, owner.bio = "Ann", "bio"
    owner.save(update_fields=["display_name", "bio"])
    mp4, png = mp4_bytes(), png_bytes()

    def video(kind: str, publish: str | None):
        v = video_create_draft(owner=owner, prompt=f"{kind} {SECRET} a red square", seed=1, model_version="t",
                               mp4=mp4, poster_png=png, width=16, height=16, frame_count=4, fps=8)
        if publish:
            v = video_publish(video=v, user=owner, visibility=publish, caption=f"{kind} {SECRET}")
        return v

    world = World(owner=owner, other=other, staff=staff)
    world.private_videos = {"draft": video("draft", None), "private": video("private", "private"),
                            "followers": video("followers", "followers")}
    world.public_video = video("public", "public")
    world.public_video.prompt = "a public blue circle"
    world.public_video.caption = "public"
    world.public_video.save(update_fields=["prompt", "caption"])
    world.comment = comment_create(video=world.private_videos["private"], author=owner, body=f"comment {SECRET}")
    world.job = GenerationJob.objects.create(owner=owner, prompt=f"job {SECRET}", seed=1, steps=2, guidance=1.0,
                                             status=GenerationJob.Status.FAILED, error="x")
    _extras(owner, png, world.job)
    return world
