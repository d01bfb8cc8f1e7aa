from django.urls import path

from . import cameo_views, views

app_name = "frontend"

urlpatterns = [
    path("", views.feed_page, name="feed"),
    path("feed/cards", views.feed_cards, name="feed-cards"),
    path("signup", views.signup_page, name="signup"),
    path("login", views.login_page, name="login"),
    path("logout", views.logout_page, name="logout"),
    path("create", views.create_page, name="create"),
    path("v/<int:video_id>", views.video_page, name="video"),
    path("v/<int:video_id>/lineage", views.lineage_page, name="lineage"),
    path("u/<str:username>", views.profile_page, name="profile"),
    path("cameos", cameo_views.cameos_page, name="cameos"),
    path("cameos/<str:handle>", cameo_views.cameo_page, name="cameo"),
    path("cameos/<str:handle>/uses", cameo_views.cameo_uses_page, name="cameo-uses"),
]
