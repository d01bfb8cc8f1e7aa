"""Cameos themselves: upload (checked picture, likeness protection), who may use it, revocation,
deletion (the stored picture goes), restrictions."""
from __future__ import annotations

import io

import numpy as np
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from PIL import Image

from accounts.models import User
from config.exceptions import Conflict
from feed.models import Video

from .. import likeness
from ..consent import HANDLE_RE, cameo_by_handle
from ..models import Cameo, CameoRestriction
from ..pictures import PictureError, picture_read
from .base import Permission, Status, _locked, _own, _uses_reevaluate, log, videos_hold

MAX_CAMEOS_PER_USER = 5
MAX_RESTRICTIONS = 10
RESTRICTION_MAX_CHARS = 200


def _check_permission(permission) -> str:
    if permission not in Permission.values:
        raise ValidationError({"permission": f"Choose one of: {', '.join(Permission.values)}."})
    return permission


def _check_handle(handle, *, owner) -> str:
    handle = (handle or "").strip().lstrip("@") if isinstance(handle, str) else ""
    if not HANDLE_RE.match(handle):
        raise ValidationError({"handle": "Use 3 to 30 letters, digits or underscores (what prompts write after @)."})
    if cameo_by_handle(handle) is not None:
        raise ValidationError({"handle": f"@{handle} is taken by another cameo."})
    if User.objects.filter(username__iexact=handle).exclude(pk=owner.pk).exists():
        raise ValidationError({"handle": f"@{handle} is someone else's username; choose a handle that is yours."})
    return handle


def likeness_matches(*, fingerprint: np.ndarray, flat: bool, exclude_owner) -> list[tuple[int, float]]:
    """(cameo id, score) of other people's cameos whose picture matches, best first. Revoked cameos
    still count (their likeness stays protected); deleted ones have no fingerprint left."""
    rows = list(Cameo.objects.exclude(owner=exclude_owner).exclude(status=Status.DELETED)
                .exclude(fingerprint=b"").values_list("pk", "fingerprint", "flat"))
    if not rows:
        return []
    stored = np.concatenate([likeness.unpack(bytes(fp)) for _, fp, _ in rows])
    stored_flat = np.array([f for _, _, f in rows], dtype=bool)
    scores = likeness.match_scores(fingerprint, flat, stored, stored_flat)
    hits = [(rows[i][0], float(scores[i])) for i in np.argsort(-scores) if scores[i] >= likeness.MATCH_THRESHOLD]
    return hits


def cameo_create(*, owner, handle: str, image: bytes, permission: str = Permission.ONLY_ME) -> Cameo:
    """Register `owner`'s likeness: a checked picture (stored as PNG without metadata) and a handle.
    Refused when the picture matches someone else's cameo (nobody registers another's likeness)."""
    permission = _check_permission(permission)
    handle = _check_handle(handle, owner=owner)
    if Cameo.objects.filter(owner=owner).exclude(status=Status.DELETED).count() >= MAX_CAMEOS_PER_USER:
        raise Conflict({"handle": f"You have {MAX_CAMEOS_PER_USER} cameos already; delete one first."})
    try:
        picture = picture_read(image)
    except PictureError as exc:
        raise ValidationError({"image": str(exc)}) from None
    fingerprint, flat = likeness.fingerprint(picture.image)
    if likeness_matches(fingerprint=fingerprint, flat=flat, exclude_owner=owner):
        raise ValidationError({"image": "This picture matches a cameo that someone else registered. You can only "
                                        "register your own likeness; if this is a picture of you, contact the staff."})
    with transaction.atomic():
        cameo = Cameo(owner=owner, handle=handle, permission=permission, width=picture.image.width,
                      height=picture.image.height, fingerprint=likeness.pack(fingerprint), flat=flat,
                      structure=likeness.structure_energy(picture.image))
        cameo.image.save("cameo.png", ContentFile(picture.png), save=False)
        try:
            with transaction.atomic():
                cameo.save()
        except Exception:
            cameo.image.storage.delete(cameo.image.name)
            if cameo_by_handle(handle) is not None:  # taken in the meantime
                raise ValidationError({"handle": f"@{handle} is taken by another cameo."}) from None
            raise
    return cameo


@transaction.atomic
def cameo_update(*, cameo: Cameo, user, permission: str) -> Cameo:
    """Change who may use the cameo. Narrowing it takes consent back: videos of people no longer
    covered are held at once, with their remixes."""
    cameo = _locked(cameo)
    _own(cameo, user)
    if not cameo.is_active:
        raise Conflict({"status": f"@{cameo.handle} was {cameo.status}; its settings can no longer change."})
    cameo.permission = _check_permission(permission)
    cameo.save(update_fields=["permission"])
    held = _uses_reevaluate(cameo)
    if held:
        log.info("cameo %s: level %s held %s videos", cameo.pk, permission, held)
    return cameo


@transaction.atomic
def cameo_revoke(*, cameo: Cameo, user) -> Cameo:
    """Withdraw the cameo: nobody may use it any more, and every video and draft that uses it is
    held, down the whole remix tree. Final (a new cameo can be registered)."""
    cameo = _locked(cameo)
    if cameo.owner_id != user.pk and not user.is_staff:
        raise PermissionDenied(f"Only @{cameo.owner.username} may withdraw the cameo @{cameo.handle}.")
    if cameo.status == Status.ACTIVE:
        cameo.status, cameo.revoked_at = Status.REVOKED, timezone.now()
        cameo.save(update_fields=["status", "revoked_at"])
    videos = list(Video.objects.filter(cameo_uses__cameo=cameo).distinct())
    videos_hold(videos)
    return cameo


@transaction.atomic
def cameo_delete(*, cameo: Cameo, user) -> None:
    """Revoke, then forget: the stored picture is deleted from storage, its fingerprints, the
    restrictions and the grants go, and the handle is free again. The row stays as a tombstone
    so the held videos stay accounted for."""
    cameo_revoke(cameo=cameo, user=user)
    cameo = _locked(cameo)
    if cameo.owner_id != user.pk:
        raise PermissionDenied(f"Only @{cameo.owner.username} may delete the cameo @{cameo.handle}.")
    name, storage = cameo.image.name, cameo.image.storage
    cameo.image = ""
    cameo.fingerprint, cameo.flat, cameo.structure = b"", False, 0.0
    cameo.status, cameo.deleted_at = Status.DELETED, timezone.now()
    cameo.save(update_fields=["image", "fingerprint", "flat", "structure", "status", "deleted_at"])
    cameo.restrictions.all().delete()
    cameo.grants.all().delete()
    if name:
        transaction.on_commit(lambda: storage.delete(name))


def cameo_image_array(cameo: Cameo) -> np.ndarray:
    """The stored picture as RGB uint8 (H, W, 3): what the model is given for the @handle."""
    with cameo.image.open("rb") as fh:
        return np.asarray(Image.open(io.BytesIO(fh.read())).convert("RGB"))


# --- restrictions ---------------------------------------------------------------------------------


@transaction.atomic
def restriction_add(*, cameo: Cameo, user, text: str) -> CameoRestriction:
    """A plain-language limit ("never in political videos"). Existing videos of others that break
    it are held at once; new prompts that break it are refused by the prompt check."""
    from safety.restrictions import restriction_topic

    cameo = _locked(cameo)
    _own(cameo, user)
    text = (text or "").strip() if isinstance(text, str) else ""
    if not text:
        raise ValidationError({"text": "Write the restriction, e.g. \u201cnever in political videos\u201d."})
    if len(text) > RESTRICTION_MAX_CHARS:
        raise ValidationError({"text": f"At most {RESTRICTION_MAX_CHARS} characters."})
    if cameo.restrictions.count() >= MAX_RESTRICTIONS:
        raise Conflict({"text": f"A cameo has at most {MAX_RESTRICTIONS} restrictions."})
    try:
        restriction_topic(text)
    except ValueError as exc:
        raise ValidationError({"text": str(exc)}) from None
    restriction = CameoRestriction.objects.create(cameo=cameo, text=text)
    _uses_reevaluate(cameo)
    return restriction


@transaction.atomic
def restriction_remove(*, restriction: CameoRestriction, user) -> None:
    _own(restriction.cameo, user)
    restriction.delete()
