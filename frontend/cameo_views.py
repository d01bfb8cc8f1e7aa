"""Cameo pages (thin): your cameos and upload, one cameo (its settings for the owner, access for
others), the owner's dashboard of every video that uses it. Writes go through /api/cameos from
static/frontend/js/cameos.js."""
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render

from cameos import selectors
from cameos.consent import consent_reason, picture_visible_to
from cameos.models import Cameo
from cameos.pictures import MAX_BYTES


def _cameo_or_404(handle: str, viewer) -> Cameo:
    cameo = selectors.cameo_get(handle=handle, viewer=viewer)
    if cameo is None:
        raise Http404("No such cameo.")
    return cameo


@login_required
def cameos_page(request):
    user = request.user
    return render(request, "frontend/cameos.html", {
        "nav": "cameos",
        "owned": selectors.cameo_list_owned(owner=user),
        "usable": selectors.cameo_list_usable(user=user),
        "requests": selectors.request_list_pending(owner=user),
        "inbox": selectors.use_list_pending(owner=user),
        "my_requests": selectors.grant_list_for_user(user=user),
        "permissions": Cameo.Permission.choices,
        "max_mb": MAX_BYTES // 2**20,
    })


def cameo_page(request, handle: str):
    cameo = _cameo_or_404(handle, request.user)
    is_owner = request.user.is_authenticated and request.user.pk == cameo.owner_id
    return render(request, "frontend/cameo.html", {
        "nav": "cameos",
        "cameo": cameo,
        "is_owner": is_owner,
        "restrictions": cameo.restrictions.all(),
        "grants": selectors.grant_list_for_cameo(cameo=cameo) if is_owner else [],
        "my_grant": selectors.grant_get(cameo=cameo, user=request.user),
        "reason": consent_reason(cameo=cameo, user=request.user),
        "show_picture": picture_visible_to(cameo=cameo, user=request.user),
        "permissions": Cameo.Permission.choices,
        "use_count": cameo.uses.filter(video__isnull=False).count() if is_owner else 0,
    })


@login_required
def cameo_uses_page(request, handle: str):
    cameo = _cameo_or_404(handle, request.user)
    if cameo.owner_id != request.user.pk and not request.user.is_staff:
        raise PermissionDenied("Only the cameo's owner sees the videos that use it.")
    uses = list(selectors.use_list_for_cameo(cameo=cameo)[:200])
    return render(request, "frontend/cameo_uses.html", {
        "nav": "cameos",
        "cameo": cameo,
        "uses": uses,
        "pending": sum(1 for u in uses if u.approval == "pending" and not u.video.consent_hold),
        "is_owner": cameo.owner_id == request.user.pk,
    })
