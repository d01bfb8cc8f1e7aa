from django.urls import path

from . import api

app_name = "safety"
urlpatterns = [
    path("provenance/verify", api.ProvenanceVerifyApi.as_view(), name="provenance-verify"),
]
