"""What the cameo services share: telling people, holding videos (with their remix trees) when
consent narrows, and the cameo row lock."""
from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q

from feed.models import Video

from ..consent import consent_reason
from ..models import Cameo, CameoUse

log = logging.getLogger(__name__)
Permission, Status, Approval = Cameo.Permission, Cameo.Status, CameoUse.Approval


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


def _locked(cameo: Cameo) -> Cameo:
    return Cameo.objects.select_for_update().select_related("owner").get(pk=cameo.pk)


def _own(cameo: Cameo, user) -> None:
    if cameo.owner_id != user.pk:
        raise PermissionDenied(f"Only @{cameo.owner.username} may change the cameo @{cameo.handle}.")
