from django.urls import path

from . import api
from .for_you import api as for_you_api

urlpatterns = [
    path("feed", api.FeedApi.as_view(), name="api-feed"),
    path("feed/for-you", for_you_api.ForYouApi.as_view(), name="api-feed-for-you"),
    path("feed/following", for_you_api.FollowingApi.as_view(), name="api-feed-following"),
    path("feed/steering", for_you_api.SteeringApi.as_view(), name="api-feed-steering"),
    path("feed/steering/<str:attribute>", for_you_api.SteeringChipApi.as_view(), name="api-feed-steering-chip"),
    path("me/drafts", api.DraftListApi.as_view(), name="api-drafts"),
    path("users/<str:username>/videos", api.UserVideoListApi.as_view(), name="api-user-videos"),
    path("videos/<int:video_id>", api.VideoDetailApi.as_view(), name="api-video"),
    path("videos/<int:video_id>/publish", api.VideoPublishApi.as_view(), name="api-video-publish"),
    path("videos/<int:video_id>/lineage", api.LineageApi.as_view(), name="api-video-lineage"),
    path("videos/<int:video_id>/like", api.VideoLikeApi.as_view(), name="api-video-like"),
    path("videos/<int:video_id>/view", for_you_api.VideoViewApi.as_view(), name="api-video-view"),
    path("videos/<int:video_id>/see-less", for_you_api.SeeLessApi.as_view(), name="api-video-see-less"),
    path("videos/<int:video_id>/hide", for_you_api.HideApi.as_view(), name="api-video-hide"),
    path("videos/<int:video_id>/comments", api.CommentListApi.as_view(), name="api-comments"),
    path("videos/<int:video_id>/comments/<int:comment_id>", api.CommentDetailApi.as_view(), name="api-comment"),
]
