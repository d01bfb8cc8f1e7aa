from django.contrib import admin

from .models import Cameo, CameoGrant, CameoRestriction, CameoUse


class RestrictionInline(admin.TabularInline):
    model = CameoRestriction
    extra = 0


@admin.register(Cameo)
class CameoAdmin(admin.ModelAdmin):
    list_display = ("handle", "owner", "permission", "status", "created_at")
    list_filter = ("permission", "status")
    search_fields = ("handle", "owner__username")
    readonly_fields = ("fingerprint", "flat", "structure", "width", "height", "revoked_at", "deleted_at")
    inlines = [RestrictionInline]


@admin.register(CameoGrant)
class CameoGrantAdmin(admin.ModelAdmin):
    list_display = ("cameo", "user", "status", "created_at", "decided_at")
    list_filter = ("status",)


@admin.register(CameoUse)
class CameoUseAdmin(admin.ModelAdmin):
    list_display = ("cameo", "user", "video", "job", "named", "inherited", "approval", "created_at")
    list_filter = ("approval", "named", "inherited")
