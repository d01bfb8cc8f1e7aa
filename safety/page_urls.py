"""Safety's pages (its API is in urls.py, under /api/)."""
from django.urls import path

from . import views

app_name = "safety_pages"
urlpatterns = [
    path("verify", views.verify_page, name="verify"),
]
