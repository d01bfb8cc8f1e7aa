"""The doors every cameo passes: job_create (consent for the named cameo and the parent's lineage),
the worker (again right before generating, and under lock when storing), publishing (again, and the
owner's per-video approval), and the likeness check on generated frames."""
from __future__ import annotations

import numpy as np
from django.core.exceptions import ValidationError

from config.exceptions import Conflict, Forbidden
from feed.models import Video

from .. import likeness
from ..consent import JobCameos, cameo_by_handle, consent_reason, lineage_cameos, prompt_mentions, restrictions_for
from ..models import Cameo, CameoUse
from .base import Approval, Permission, Status, _notify
from .cameos import cameo_image_array


class CameoRefused(Exception):
    """A worker may not make (or keep) this clip: consent for a cameo in it is missing now, or the
    model cannot show the likeness. The job fails with this message."""


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
