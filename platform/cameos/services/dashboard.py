"""The owner's dashboard: approve or decline a video with their cameo, or delete it with its remixes."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from config.exceptions import Conflict
from feed.models import Video

from ..models import CameoUse
from .base import Approval, _notify, videos_hold


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
