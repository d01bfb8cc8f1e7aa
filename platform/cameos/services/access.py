"""Access at the "people I approve" level: requests, the owner's answers, direct grants, revocation."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from config.exceptions import Conflict

from ..consent import cameo_visible_to
from ..models import Cameo, CameoGrant
from .base import _locked, _notify, _own, _uses_reevaluate

NOTE_MAX_CHARS = 300


def _not_found(handle: str) -> Cameo.DoesNotExist:
    return Cameo.DoesNotExist(f"No cameo @{handle}.")


@transaction.atomic
def access_request(*, cameo: Cameo, user, note: str = "") -> CameoGrant:
    """Ask the owner for access (what the "people I approve" level lets in)."""
    cameo = _locked(cameo)
    if not cameo_visible_to(cameo=cameo, user=user):
        raise _not_found(cameo.handle)
    if cameo.owner_id == user.pk:
        raise ValidationError({"cameo": "This is your own cameo."})
    if not cameo.is_active:
        raise Conflict({"cameo": f"@{cameo.handle} was withdrawn by its owner."})
    note = (note or "").strip() if isinstance(note, str) else ""
    if len(note) > NOTE_MAX_CHARS:
        raise ValidationError({"note": f"At most {NOTE_MAX_CHARS} characters."})
    grant = CameoGrant.objects.filter(cameo=cameo, user=user).first()
    if grant is not None:
        said = {CameoGrant.Status.APPROVED: "You already have access to",
                CameoGrant.Status.REQUESTED: "You already asked for access to"}.get(
            grant.status, f"@{cameo.owner.username} declined access to")
        raise Conflict({"cameo": f"{said} @{cameo.handle}."})
    grant = CameoGrant.objects.create(cameo=cameo, user=user, note=note)
    _notify(cameo.owner_id, "cameo.request", f"@{user.username} asks to use your cameo @{cameo.handle}.",
            cameo=cameo.handle, by=user.username, url=f"/cameos/{cameo.handle}")
    return grant


@transaction.atomic
def access_withdraw(*, cameo: Cameo, user) -> None:
    """The requester drops their request, or gives up their access (their videos are then held)."""
    cameo = _locked(cameo)
    grant = CameoGrant.objects.filter(cameo=cameo, user=user).first()
    if grant is None or grant.status not in (CameoGrant.Status.REQUESTED, CameoGrant.Status.APPROVED):
        raise Conflict({"cameo": f"You have no request or access for @{cameo.handle} to withdraw."})
    grant.delete()
    _uses_reevaluate(cameo, user_ids=[user.pk])


@transaction.atomic
def grant_decide(*, cameo: Cameo, user, grantee, approve: bool) -> CameoGrant:
    """The owner answers a request."""
    cameo = _locked(cameo)
    _own(cameo, user)
    grant = CameoGrant.objects.select_for_update().filter(cameo=cameo, user=grantee).first()
    if grant is None:
        raise CameoGrant.DoesNotExist(f"@{grantee.username} has not asked for @{cameo.handle}.")
    if grant.status != CameoGrant.Status.REQUESTED:
        raise Conflict({"status": f"This request was already {grant.status}."})
    grant.status = CameoGrant.Status.APPROVED if approve else CameoGrant.Status.DENIED
    grant.decided_at = timezone.now()
    grant.save(update_fields=["status", "decided_at"])
    verb = "approved" if approve else "declined"
    _notify(grantee.pk, f"cameo.request_{verb}", f"@{cameo.owner.username} {verb} your request to use @{cameo.handle}.",
            cameo=cameo.handle)
    return grant


@transaction.atomic
def grant_create(*, cameo: Cameo, user, grantee) -> CameoGrant:
    """The owner gives someone access directly (also after declining or revoking earlier)."""
    cameo = _locked(cameo)
    _own(cameo, user)
    if grantee.pk == cameo.owner_id:
        raise ValidationError({"username": "You always have access to your own cameo."})
    if not cameo.is_active:
        raise Conflict({"status": f"@{cameo.handle} was {cameo.status}."})
    grant, _ = CameoGrant.objects.update_or_create(
        cameo=cameo, user=grantee, defaults={"status": CameoGrant.Status.APPROVED, "decided_at": timezone.now()})
    _notify(grantee.pk, "cameo.request_approved", f"@{cameo.owner.username} lets you use the cameo @{cameo.handle}.",
            cameo=cameo.handle)
    return grant


@transaction.atomic
def grant_revoke(*, cameo: Cameo, user, grantee) -> CameoGrant:
    """Take someone's access back: their videos and drafts with the cameo are held at once (with
    every remix below them), their queued jobs are refused by the worker."""
    cameo = _locked(cameo)
    _own(cameo, user)
    grant = CameoGrant.objects.select_for_update().filter(cameo=cameo, user=grantee).first()
    if grant is None or grant.status != CameoGrant.Status.APPROVED:
        raise Conflict({"username": f"@{grantee.username} has no access to @{cameo.handle} to revoke."})
    grant.status, grant.decided_at = CameoGrant.Status.REVOKED, timezone.now()
    grant.save(update_fields=["status", "decided_at"])
    _uses_reevaluate(cameo, user_ids=[grantee.pk])
    return grant
