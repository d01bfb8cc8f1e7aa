"""Included at the site root: the moderation API under /api/ and its pages."""
from django.urls import path

from . import api, views

app_name = "moderation"
urlpatterns = [
    path("api/reports", api.ReportApi.as_view(), name="api-report"),
    path("api/moderation/queue", api.QueueApi.as_view(), name="api-queue"),
    path("api/moderation/actions", api.ActionApi.as_view(), name="api-actions"),
    path("api/moderation/log", api.LogApi.as_view(), name="api-log"),
    path("api/moderation/notices", api.NoticeListApi.as_view(), name="api-notices"),
    path("api/moderation/appeals", api.AppealApi.as_view(), name="api-appeals"),
    path("moderation", views.moderation_page, name="queue"),
    path("moderation/notices", views.notices_page, name="notices"),
    path("moderation/frames/<int:flag_id>.png", views.frames_image, name="frames-image"),
]
