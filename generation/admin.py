from django.contrib import admin

from .models import GenerationJob


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "status", "step", "steps", "attempts", "created_at")
    list_filter = ("status",)
    search_fields = ("prompt", "owner__username")
    raw_id_fields = ("owner", "parent", "video")
    readonly_fields = ("last_preview",)
