from django.contrib import admin

from .models import Comment, Like, SteeringChip, Video, VideoFeedback, VideoView


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


@admin.register(VideoView)
class VideoViewAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "video", "view_count", "watch_seconds", "completed", "last_viewed_at")
    raw_id_fields = ("user", "video")


@admin.register(VideoFeedback)
class VideoFeedbackAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "video", "kind", "created_at")
    list_filter = ("kind",)
    raw_id_fields = ("user", "video")


@admin.register(SteeringChip)
class SteeringChipAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "attribute", "weight", "phrase")
    raw_id_fields = ("user",)
