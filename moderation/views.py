"""Moderation pages: the staff queue (server-rendered; bulk actions go through the API from
frontend/static/frontend/js/moderation.js) and a person's notices with the appeal form."""
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render

from . import selectors
from .api import notice_data
from .models import Report

QUEUE_PAGE = 100  # rows shown per section; the API pages further


def _staff_or_404(request) -> None:
    """Non-staff get a plain 404: the page's existence is nobody else's business."""
    if not (request.user.is_authenticated and request.user.is_staff):
        raise Http404("No such page.")


@login_required
def moderation_page(request):
    _staff_or_404(request)
    context = {
        "nav": "moderation",
        "reports": selectors.report_queue()[:QUEUE_PAGE],
        "prompts": selectors.prompt_queue()[:QUEUE_PAGE],
        "frames": selectors.frames_queue()[:QUEUE_PAGE],
        "appeals": selectors.appeal_queue()[:QUEUE_PAGE],
        "removed": selectors.removed_video_list()[:QUEUE_PAGE],
        "suspended": selectors.suspended_user_list()[:QUEUE_PAGE],
        "log": selectors.decision_log()[:30],
        "counts": selectors.queue_counts(),
        "reasons": dict(Report.Reason.choices),
    }
    return render(request, "frontend/moderation.html", context)


@login_required
def frames_image(request, flag_id: int):
    """The frames the frame check held, as one PNG: staff only, never from public media."""
    _staff_or_404(request)
    png = selectors.frames_png(flag_id=flag_id)
    if png is None:
        raise Http404("No such image.")
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def notices_page(request):
    notices = [notice_data(d) | {"when": d.created_at} for d in selectors.notice_list(user=request.user)[:50]]
    return render(request, "frontend/notices.html", {"notices": notices, "nav": "notices"})
