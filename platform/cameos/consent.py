"""Who may use a cameo, and which cameos a prompt or a video's lineage brings in. Reads only: the
services (writes) and the generation, feed and worker checks all ask here, so there is one rule.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db.models import Q

from accounts.models import Block, Follow

from .models import Cameo, CameoGrant, CameoRestriction, CameoUse

HANDLE_RE = re.compile(r"^[A-Za-z0-9_]{3,30}$")
# What the model reads as a cameo subject: any "@word" (generation/dit/text.py uses this pattern on
# the lowercased prompt). Every such token must be a cameo the author may use, or the model would
# draw "the cameo subject" with no likeness behind it.
MENTION_RE = re.compile(r"@[\w.]+")
Permission = Cameo.Permission


def prompt_mentions(prompt: str) -> list[str]:
    """The distinct @handles in a prompt, lowercased, in order. Raises ValueError for an @token
    that cannot be a handle (it names the token)."""
    handles: list[str] = []
    for token in MENTION_RE.findall(prompt.lower()):
        handle = token[1:].rstrip(".")
        if not HANDLE_RE.match(handle):
            raise ValueError(f"\u201c{token}\u201d is not a cameo handle: handles are 3 to 30 letters, digits or "
                             f"underscores. Write @ only before a cameo's handle.")
        if handle not in handles:
            handles.append(handle)
    return handles


def cameo_by_handle(handle: str) -> Cameo | None:
    return Cameo.objects.filter(handle__iexact=handle).exclude(status=Cameo.Status.DELETED).select_related("owner").first()


def _blocked_either_way(a_id: int, b_id: int) -> bool:
    return Block.objects.filter(Q(blocker_id=a_id, blocked_id=b_id) | Q(blocker_id=b_id, blocked_id=a_id)).exists()


def _mutual(a_id: int, b_id: int) -> bool:
    return Follow.objects.filter(Q(follower_id=a_id, followee_id=b_id) | Q(follower_id=b_id, followee_id=a_id)).count() == 2


def _no_such_cameo(cameo: Cameo) -> str:
    # The same words as for a handle that does not exist, so a private cameo is not revealed.
    return f"There is no cameo @{cameo.handle} that you may use."


def consent_reason(*, cameo: Cameo, user) -> str | None:
    """None when `user` may use `cameo` now; otherwise the reason, in words for `user`. Staff are
    like anyone else here: moderating a likeness is not consent to use it."""
    if not user.is_authenticated:
        return "Sign in to use cameos."
    if not cameo.is_active:
        return f"@{cameo.handle} is no longer available: its owner withdrew it."
    if user.pk == cameo.owner_id:
        return None
    if _blocked_either_way(user.pk, cameo.owner_id):
        return _no_such_cameo(cameo)
    owner = cameo.owner.username
    if cameo.permission == Permission.EVERYONE:
        return None
    if cameo.permission == Permission.MUTUALS:
        if _mutual(user.pk, cameo.owner_id):
            return None
        return f"@{cameo.handle} is only for mutuals: people who follow @{owner} and whom @{owner} follows back."
    if cameo.permission == Permission.APPROVED:
        if CameoGrant.objects.filter(cameo=cameo, user=user, status=CameoGrant.Status.APPROVED).exists():
            return None
        return f"@{cameo.handle} is only for people @{owner} approved: ask for access on its page (/cameos/{cameo.handle})."
    return _no_such_cameo(cameo)  # only me


def cameo_visible_to(*, cameo: Cameo, user) -> bool:
    """May `user` see that the cameo exists (its handle, its owner) and ask for access?"""
    if cameo.status == Cameo.Status.DELETED:
        return False
    if user.is_authenticated and (user.pk == cameo.owner_id or user.is_staff):
        return True
    if not cameo.is_active or cameo.permission == Permission.ONLY_ME:
        return False
    return not (user.is_authenticated and _blocked_either_way(user.pk, cameo.owner_id))


def picture_visible_to(*, cameo: Cameo, user) -> bool:
    """The picture itself: its owner, staff, and whoever may use the cameo now."""
    if cameo.status == Cameo.Status.DELETED or not cameo.image:
        return False
    if user.is_authenticated and (user.pk == cameo.owner_id or user.is_staff):
        return True
    return cameo.is_active and consent_reason(cameo=cameo, user=user) is None


def lineage_cameos(video) -> list[Cameo]:
    """Every cameo used by `video` or any of its ancestors (one read through the lineage path)."""
    ids = [*video.ancestor_ids, video.pk]
    cameo_ids = set(CameoUse.objects.filter(video_id__in=ids).values_list("cameo_id", flat=True))
    return list(Cameo.objects.filter(pk__in=cameo_ids).select_related("owner").order_by("pk"))


@dataclass
class JobCameos:
    """The cameos a job would use: the one its prompt names, and those its parent's lineage carries."""

    named: Cameo | None = None
    inherited: list[Cameo] = field(default_factory=list)

    @property
    def all(self) -> list[Cameo]:
        cameos = list(self.inherited)
        if self.named is not None and self.named.pk not in {c.pk for c in cameos}:
            cameos.insert(0, self.named)
        return cameos

    def restrictions_for(self, user) -> list[tuple[str, str]]:
        """(handle, restriction) for `user`'s prompt: those of every cameo that is not their own."""
        return restrictions_for(cameos=self.all, user=user)


def restrictions_for(*, cameos: list[Cameo], user) -> list[tuple[str, str]]:
    others = [c for c in cameos if c.owner_id != user.pk]
    if not others:
        return []
    rows = CameoRestriction.objects.filter(cameo__in=others).select_related("cameo").order_by("pk")
    return [(r.cameo.handle, r.text) for r in rows]
