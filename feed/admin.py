from django.contrib import admin

from .models import Comment, Like, Video


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "status", "visibility", "model_version", "created_at")
    list_filter = ("status", "visibility")
    search_fields = ("prompt", "owner__username")
    raw_id_fields = ("owner", "parent")


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ("id", "author", "video", "created_at")
    raw_id_fields = ("author", "video")


admin.site.register(Like)
