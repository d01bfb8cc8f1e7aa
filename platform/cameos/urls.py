from django.urls import path

from . import api

H = "cameos/<str:handle>"
urlpatterns = [
    path("cameos", api.CameoListApi.as_view(), name="api-cameos"),
    path("cameos/inbox", api.InboxApi.as_view(), name="api-cameo-inbox"),
    path(H, api.CameoDetailApi.as_view(), name="api-cameo"),
    path(f"{H}/revoke", api.CameoRevokeApi.as_view(), name="api-cameo-revoke"),
    path(f"{H}/image", api.CameoImageApi.as_view(), name="api-cameo-image"),
    path(f"{H}/restrictions", api.RestrictionListApi.as_view(), name="api-cameo-restrictions"),
    path(f"{H}/restrictions/<int:restriction_id>", api.RestrictionDetailApi.as_view(), name="api-cameo-restriction"),
    path(f"{H}/access", api.AccessApi.as_view(), name="api-cameo-access"),
    path(f"{H}/grants", api.GrantListApi.as_view(), name="api-cameo-grants"),
    path(f"{H}/grants/<str:username>", api.GrantDetailApi.as_view(), name="api-cameo-grant"),
    path(f"{H}/grants/<str:username>/approve", api.GrantDecideApi.as_view(approve=True), name="api-cameo-grant-approve"),
    path(f"{H}/grants/<str:username>/deny", api.GrantDecideApi.as_view(approve=False), name="api-cameo-grant-deny"),
    path(f"{H}/uses", api.UseListApi.as_view(), name="api-cameo-uses"),
    path(f"{H}/uses/<int:use_id>", api.UseDetailApi.as_view(), name="api-cameo-use"),
    path(f"{H}/uses/<int:use_id>/approve", api.UseDecideApi.as_view(approve=True), name="api-cameo-use-approve"),
    path(f"{H}/uses/<int:use_id>/deny", api.UseDecideApi.as_view(approve=False), name="api-cameo-use-deny"),
]
