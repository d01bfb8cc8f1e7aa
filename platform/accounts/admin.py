from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import Block, Follow, User


@admin.register(User)
class SpacetimeUserAdmin(UserAdmin):
    fieldsets = UserAdmin.fieldsets + (("Profile", {"fields": ("display_name", "bio")}),)
    list_display = ("username", "display_name", "email", "is_staff", "date_joined")


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ("follower", "followee", "created_at")
    raw_id_fields = ("follower", "followee")


@admin.register(Block)
class BlockAdmin(admin.ModelAdmin):
    list_display = ("blocker", "blocked", "created_at")
    raw_id_fields = ("blocker", "blocked")
