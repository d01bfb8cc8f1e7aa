"""Reads for cameos: lists for their owners and for the people they are shared with, the owner's
dashboard of every video and draft that uses a cameo (held ones included), the approval inbox.
Who may use a cameo is decided in consent.py."""
from django.db.models import Q, QuerySet

from accounts.selectors import user_blocked_ids, user_followee_ids
from accounts.models import Follow

from .consent import cameo_by_handle, cameo_visible_to
from .models import Cameo, CameoGrant, CameoUse


def cameo_get(*, handle: str, viewer) -> Cameo | None:
    """The cameo @handle if `viewer` may know it exists (its owner, staff, and anyone it is not
    private to or blocked from), else None: the same answer as for a handle nobody has."""
    cameo = cameo_by_handle(handle)
    if cameo is None or not cameo_visible_to(cameo=cameo, user=viewer):
        return None
    return cameo


def cameo_list_owned(*, owner) -> QuerySet[Cameo]:
    return Cameo.objects.filter(owner=owner).exclude(status=Cameo.Status.DELETED).select_related("owner")


def cameo_list_usable(*, user) -> QuerySet[Cameo]:
    """Other people's cameos `user` may use now (the same rule as consent.consent_reason)."""
    if not user.is_authenticated:
        return Cameo.objects.none()
    followees = user_followee_ids(user=user)
    mutuals = set(Follow.objects.filter(follower_id__in=followees, followee=user).values_list("follower_id", flat=True))
    P = Cameo.Permission
    granted = CameoGrant.objects.filter(user=user, status=CameoGrant.Status.APPROVED).values("cameo_id")
    return (Cameo.objects.filter(status=Cameo.Status.ACTIVE).exclude(owner=user)
            .exclude(owner_id__in=user_blocked_ids(user=user))
            .filter(Q(permission=P.EVERYONE) | Q(permission=P.MUTUALS, owner_id__in=mutuals)
                    | Q(permission=P.APPROVED, pk__in=granted))
            .select_related("owner").order_by("handle"))


def grant_list_for_user(*, user) -> QuerySet[CameoGrant]:
    """The requests `user` made and the access they were given."""
    return (CameoGrant.objects.filter(user=user).exclude(cameo__status=Cameo.Status.DELETED)
            .select_related("cameo__owner").order_by("-created_at"))


def grant_list_for_cameo(*, cameo: Cameo) -> QuerySet[CameoGrant]:
    return CameoGrant.objects.filter(cameo=cameo).select_related("user").order_by("status", "-created_at")


def grant_get(*, cameo: Cameo, user) -> CameoGrant | None:
    if not user.is_authenticated:
        return None
    return CameoGrant.objects.filter(cameo=cameo, user=user).first()


def request_list_pending(*, owner) -> QuerySet[CameoGrant]:
    return (CameoGrant.objects.filter(cameo__owner=owner, status=CameoGrant.Status.REQUESTED,
                                      cameo__status=Cameo.Status.ACTIVE)
            .select_related("cameo", "user").order_by("created_at"))


def use_list_for_cameo(*, cameo: Cameo) -> QuerySet[CameoUse]:
    """The dashboard: every video and draft that uses the cameo, whoever made it, held or removed
    ones too (they are listed here, not through the feed's visibility gate, on purpose)."""
    return (CameoUse.objects.filter(cameo=cameo, video__isnull=False)
            .select_related("video__owner", "user", "job").order_by("-created_at", "-pk"))


def use_list_pending(*, owner) -> QuerySet[CameoUse]:
    """The approval inbox: videos of others with the owner's cameos, waiting for a decision."""
    return (CameoUse.objects.filter(cameo__owner=owner, approval=CameoUse.Approval.PENDING, video__isnull=False,
                                    video__consent_hold=False)
            .select_related("cameo", "video__owner", "user").order_by("created_at"))


def use_get(*, cameo: Cameo, use_id: int) -> CameoUse | None:
    return use_list_for_cameo(cameo=cameo).filter(pk=use_id).first()
