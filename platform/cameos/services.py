"""Writes for cameos: upload, settings, restrictions, access (requests, grants), revocation and
deletion, and the checks every door runs: job_create, the worker, publishing.

Consent, once taken back, is honoured everywhere: the videos and drafts it no longer covers get
`Video.consent_hold` together with every remix below them at any depth (feed's one visibility gate
then hides them from everyone but staff; the cameo's owner still sees them on the dashboard), jobs
not yet run are refused by the worker, drafts can no longer be posted.
"""
from __future__ import annotations

import io
import logging

import numpy as np
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from PIL import Image

from accounts.models import User
from config.exceptions import Conflict, Forbidden
from feed.models import Video

from . import likeness
from .consent import (
    HANDLE_RE,
    JobCameos,
    cameo_by_handle,
    cameo_visible_to,
    consent_reason,
    lineage_cameos,
    prompt_mentions,
    restrictions_for,
)
from .models import Cameo, CameoGrant, CameoRestriction, CameoUse
from .pictures import PictureError, picture_read

log = logging.getLogger(__name__)

MAX_CAMEOS_PER_USER = 5
MAX_RESTRICTIONS = 10
RESTRICTION_MAX_CHARS = 200
NOTE_MAX_CHARS = 300
Permission, Status, Approval = Cameo.Permission, Cameo.Status, CameoUse.Approval


class CameoRefused(Exception):
    """A worker may not make (or keep) this clip: consent for a cameo in it is missing now, or the
    model cannot show the likeness. The job fails with this message."""


# --- notifications --------------------------------------------------------------------------------


def _notify(user_id: int, kind: str, message: str, **data) -> None:
    """Tell `user_id` over /ws/notifications/ once the transaction commits."""
    from generation.services.events import notify_user

    payload = {"kind": kind, "message": message} | data
    transaction.on_commit(lambda: notify_user(user_id=user_id, payload=payload))


# --- holding videos -----------------------------------------------------------------------------


def videos_hold(videos: list[Video]) -> int:
    """Hold `videos` and every remix below them, at any depth (one prefix read per video)."""
    count = 0
    for i in range(0, len(videos), 100):
        chunk = videos[i:i + 100]
        q = Q(pk__in=[v.pk for v in chunk])
        for v in chunk:
            q |= Q(lineage_path__startswith=v.descendant_prefix)
        count += Video.objects.filter(q).update(consent_hold=True)
    return count


def _uses_reevaluate(cameo: Cameo, *, user_ids: list[int] | None = None) -> int:
    """After consent narrowed (level lowered, a grant revoked, a restriction added): hold every
    video of someone else that the cameo's consent no longer covers. Returns the videos held."""
    uses = (CameoUse.objects.filter(cameo=cameo, video__isnull=False, video__consent_hold=False)
            .exclude(user_id=cameo.owner_id).select_related("video", "user"))
    if user_ids is not None:
        uses = uses.filter(user_id__in=user_ids)
    uses = list(uses)
    if not uses:
        return 0
    reasons: dict[int, str | None] = {}
    for use in uses:
        if use.user_id not in reasons:
            reasons[use.user_id] = consent_reason(cameo=cameo, user=use.user)
    texts = list(cameo.restrictions.values_list("text", flat=True))
    failing = []
    for use in uses:
        if reasons[use.user_id] or use.approval == Approval.DENIED:
            failing.append(use.video)
        elif texts:
            from safety.restrictions import restrictions_assess

            if restrictions_assess(use.video.prompt, texts) is not None:
                failing.append(use.video)
    return videos_hold(failing)


# --- cameos ---------------------------------------------------------------------------------------


def _locked(cameo: Cameo) -> Cameo:
    return Cameo.objects.select_for_update().select_related("owner").get(pk=cameo.pk)


def _own(cameo: Cameo, user) -> None:
    if cameo.owner_id != user.pk:
        raise PermissionDenied(f"Only @{cameo.owner.username} may change the cameo @{cameo.handle}.")


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


# --- access: requests and grants ------------------------------------------------------------------


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


# --- the doors: job_create, the worker, publishing ----------------------------------------------


def job_cameos_check(*, owner, prompt: str, parent=None) -> JobCameos:
    """job_create's check: the prompt names at most one cameo, `owner` may use it, and `owner` may
    use every cameo in the parent video's lineage. Raises 400 (a bad @token, more than one cameo)
    or 403 naming the field (`prompt` or `parent`); an unknown handle reads like a forbidden one."""
    try:
        handles = prompt_mentions(prompt)
    except ValueError as exc:
        raise ValidationError({"prompt": str(exc)}) from None
    if len(handles) > 1:
        named = ", ".join(f"@{h}" for h in handles)
        raise ValidationError({"prompt": f"Name at most one cameo per video (this prompt names {named}): "
                                         f"the model shows one cameo in a clip."})
    out = JobCameos()
    if handles:
        cameo = cameo_by_handle(handles[0])
        if cameo is None:
            raise Forbidden({"prompt": f"There is no cameo @{handles[0]} that you may use."})
        reason = consent_reason(cameo=cameo, user=owner)
        if reason:
            raise Forbidden({"prompt": reason})
        out.named = cameo
    if parent is not None:
        for cameo in lineage_cameos(parent):
            reason = consent_reason(cameo=cameo, user=owner)
            if reason:
                raise Forbidden({"parent": f"Video {parent.pk} (or a video it remixes) shows the cameo "
                                           f"@{cameo.handle}. {reason}"})
            out.inherited.append(cameo)
    return out


def job_cameos_record(*, job, cameos: JobCameos) -> list[CameoUse]:
    """Write which cameos a new job uses. At the "people I approve" level someone else's video
    waits for the owner's approval (per video) before it can be posted."""
    inherited = {c.pk for c in cameos.inherited}
    uses = []
    for cameo in cameos.all:
        needs_approval = cameo.permission == Permission.APPROVED and cameo.owner_id != job.owner_id
        uses.append(CameoUse.objects.create(
            cameo=cameo, job=job, user=job.owner, named=cameos.named is not None and cameo.pk == cameos.named.pk,
            inherited=cameo.pk in inherited, approval=Approval.PENDING if needs_approval else Approval.NOT_NEEDED))
    return uses


def _job_consent_problem(job, uses: list[CameoUse]) -> str | None:
    for use in uses:
        reason = consent_reason(cameo=use.cameo, user=job.owner)
        if reason:
            return f"Consent for the cameo @{use.cameo.handle} ended before this video was made. {reason}"
        if use.approval == Approval.DENIED:
            return f"@{use.cameo.owner.username} declined this video with their cameo @{use.cameo.handle}."
    if job.parent_id is not None and Video.objects.filter(pk=job.parent_id, consent_hold=True).exists():
        return "The video this remixes was withdrawn for a cameo's consent."
    texts = restrictions_for(cameos=[u.cameo for u in uses], user=job.owner)
    if texts:
        from safety.restrictions import restrictions_assess

        hit = restrictions_assess(job.prompt, [t for _, t in texts])
        if hit is not None:
            handle = next(h for h, t in texts if t == hit.restriction)
            return f"The owner of @{handle} does not allow this: {hit.reason()}."
    return None


def job_cameos_preflight(*, job, pipe) -> np.ndarray | None:
    """The worker, right before generating: consent is checked again (it may have been taken back
    since job_create), and the picture of the cameo the prompt names is returned for the model
    (None when it names none). Raises CameoRefused; never renders a named cameo without it."""
    uses = list(CameoUse.objects.filter(job=job).select_related("cameo__owner"))
    problem = _job_consent_problem(job, uses)
    if problem:
        raise CameoRefused(problem)
    named = next((u.cameo for u in uses if u.named), None)
    if named is None:
        return None
    if not getattr(pipe, "supports_cameo", False):
        raise CameoRefused(f"This model cannot render cameos yet, so the video with @{named.handle} was not made "
                           f"(it would not show their likeness).")
    return cameo_image_array(named)


def job_cameos_attach(*, job, video: Video) -> None:
    """The worker, storing the clip (inside its transaction): consent is checked a last time under
    the cameos' row locks (a revocation either sees this video or is seen here), the video is
    recorded on the job's cameo uses, and each cameo's owner is told. Raises CameoRefused."""
    uses = list(CameoUse.objects.filter(job=job).select_related("cameo__owner"))
    if not uses:
        return
    list(Cameo.objects.select_for_update().filter(pk__in=[u.cameo_id for u in uses]))
    for use in uses:
        use.cameo.refresh_from_db()
    problem = _job_consent_problem(job, uses)
    if problem:  # the caller's transaction rolls the draft back; its stored files go now
        for name in (video.file.name, video.poster.name):
            if name:
                video.file.storage.delete(name)
        raise CameoRefused(problem)
    CameoUse.objects.filter(job=job).update(video=video)
    for use in uses:
        if use.cameo.owner_id != job.owner_id:
            waiting = " It waits for your approval before it can be posted." if use.approval == Approval.PENDING else ""
            _notify(use.cameo.owner_id, "cameo.used",
                    f"@{job.owner.username} made a video with your cameo @{use.cameo.handle}.{waiting}",
                    cameo=use.cameo.handle, video=video.pk, by=job.owner.username,
                    url=f"/cameos/{use.cameo.handle}/uses")


def video_publish_cameos(*, video: Video, user) -> None:
    """Publishing, inside its transaction: the author's consent for every cameo in the video and its
    lineage is checked again, the owner's per-video approval is required where the cameo asks for
    it, the restrictions are applied to the prompt; each cameo's owner is told once it is posted."""
    cameos = lineage_cameos(video)
    if not cameos:
        return
    for cameo in cameos:
        reason = consent_reason(cameo=cameo, user=video.owner)
        if reason:
            raise Forbidden({"video": f"This video shows the cameo @{cameo.handle}. {reason}"})
    for use in CameoUse.objects.filter(video=video).select_related("cameo__owner"):
        who = f"@{use.cameo.owner.username}"
        if use.approval == Approval.DENIED:
            raise Forbidden({"video": f"{who} declined this video with their cameo @{use.cameo.handle}."})
        if use.approval == Approval.PENDING:
            raise Conflict({"video": f"{who} has not approved this video with their cameo @{use.cameo.handle} "
                                     f"yet; it is waiting in their approval inbox."})
    texts = restrictions_for(cameos=cameos, user=video.owner)
    if texts:
        from safety.restrictions import restrictions_assess

        hit = restrictions_assess(video.prompt, [t for _, t in texts])
        if hit is not None:
            handle = next(h for h, t in texts if t == hit.restriction)
            raise Forbidden({"video": f"The owner of @{handle} does not allow this: {hit.reason()}."})
    for cameo in cameos:
        if cameo.owner_id != video.owner_id:
            _notify(cameo.owner_id, "cameo.published",
                    f"@{video.owner.username} posted a video with your cameo @{cameo.handle}.",
                    cameo=cameo.handle, video=video.pk, url=f"/cameos/{cameo.handle}/uses")


# --- the owner's dashboard: approve, decline, delete ----------------------------------------------


def _dashboard_use(use: CameoUse, user, *, staff_ok: bool) -> CameoUse:
    use = CameoUse.objects.select_related("cameo__owner", "video", "user").get(pk=use.pk)
    if use.cameo.owner_id != user.pk and not (staff_ok and user.is_staff):
        raise PermissionDenied(f"Only @{use.cameo.owner.username} may decide about videos with @{use.cameo.handle}.")
    if use.video is None:
        raise Conflict({"video": "This job has not made a video yet."})
    return use


@transaction.atomic
def use_decide(*, use: CameoUse, user, approve: bool) -> CameoUse:
    """The per-video approval inbox: the owner lets a video with their cameo be posted, or declines
    it (the video and its remixes are then held)."""
    use = _dashboard_use(use, user, staff_ok=False)
    if use.approval != Approval.PENDING:
        raise Conflict({"approval": f"This video is not waiting for approval ({use.get_approval_display().lower()})."})
    use.approval = Approval.APPROVED if approve else Approval.DENIED
    use.decided_at = timezone.now()
    use.save(update_fields=["approval", "decided_at"])
    if not approve:
        videos_hold([use.video])
    verb = "approved" if approve else "declined"
    _notify(use.user_id, f"cameo.video_{verb}", f"@{use.cameo.owner.username} {verb} your video with @{use.cameo.handle}.",
            cameo=use.cameo.handle, video=use.video_id)
    return use


@transaction.atomic
def use_remove(*, use: CameoUse, user) -> int:
    """The cameo's owner (or staff) deletes a video that uses the cameo, published or draft, and
    every remix below it: removed, held, and the stored clip and poster deleted. Returns how many."""
    use = _dashboard_use(use, user, staff_ok=True)
    video = use.video
    family = Video.objects.filter(Q(pk=video.pk) | Q(lineage_path__startswith=video.descendant_prefix))
    names = [n for pair in family.values_list("file", "poster") for n in pair if n]
    count = family.update(status=Video.Status.REMOVED, consent_hold=True)
    storage = video.file.storage
    transaction.on_commit(lambda: [storage.delete(n) for n in names])
    if use.user_id != user.pk:
        _notify(use.user_id, "cameo.video_removed",
                f"@{use.cameo.owner.username} removed your video with their cameo @{use.cameo.handle}.",
                cameo=use.cameo.handle, video=video.pk)
    return count


# --- the likeness check on generated frames ------------------------------------------------------


def cameos_found_in_frames(frames: np.ndarray, allowed_cameo_ids) -> list[Cameo]:
    """Registered cameos (active or revoked) whose picture shows up as the moving subject of
    `frames` (uint8 (T, H, W, 3)) and that are not in `allowed_cameo_ids`. Only cameos with
    enough structure are looked for (a plain picture looks like any Flatland shape); accuracy is
    measured in benchmarks/cameos/frames.json."""
    rows = list(Cameo.objects.exclude(status=Status.DELETED).exclude(fingerprint=b"")
                .exclude(pk__in=list(allowed_cameo_ids)).filter(structure__gte=likeness.FRAME_MIN_ENERGY)
                .values_list("pk", "fingerprint"))
    if not rows:
        return []
    pictures = np.stack([likeness.unpack(bytes(fp))[0, 0] for _, fp in rows])
    scores = likeness.frame_scores(likeness.frame_subjects(np.asarray(frames)), pictures)
    found = [rows[i][0] for i in np.argsort(-scores) if scores[i] >= likeness.FRAME_THRESHOLD]
    by_id = Cameo.objects.in_bulk(found)
    return [by_id[i] for i in found]
