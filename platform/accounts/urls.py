from django.urls import path

from . import api

urlpatterns = [
    path("auth/signup", api.SignupApi.as_view(), name="api-signup"),
    path("auth/token", api.TokenApi.as_view(), name="api-token"),
    path("me", api.MeApi.as_view(), name="api-me"),
    path("users/<str:username>", api.ProfileApi.as_view(), name="api-profile"),
    path("users/<str:username>/follow", api.FollowApi.as_view(), name="api-follow"),
    path("users/<str:username>/block", api.BlockApi.as_view(), name="api-block"),
]
