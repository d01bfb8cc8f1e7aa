"""Django admin for moderation. Queue items get the same bulk actions as the staff page, through
the same service (so every one is logged); the log itself is read-only."""
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from .models import Appeal, CommentRemoval, Decision, FlaggedFrames, FlaggedPrompt, Report
from .services import moderation_act
from .services.actions import ACTIONS


def _bulk(action: str):
    def run(modeladmin, request, queryset):
        kind = modeladmin.item_kind
        try:
            decisions = moderation_act(actor=request.user, items=[f"{kind}:{pk}" for pk in queryset.values_list("pk", flat=True)],
                                       action=action)
        except ValidationError as exc:
            modeladmin.message_user(request, " ".join(exc.messages), messages.ERROR)
        else:
            modeladmin.message_user(request, f"{action}: {len(decisions)} decision(s) logged.", messages.SUCCESS)

    run.__name__ = f"moderate_{action}"
    run.short_description = f"{action.capitalize()} (logged)"
    return run


class QueueAdmin(admin.ModelAdmin):
    item_kind = ""
    actions = [_bulk(a) for a in ACTIONS]
    list_filter = ("status",)
    readonly_fields = ("status", "resolved_at", "decision", "created_at")

    def has_add_permission(self, request):
        return False


@admin.register(Report)
class ReportAdmin(QueueAdmin):
    item_kind = "report"
    list_display = ("id", "reason", "video", "comment", "user", "reporter", "status", "created_at")
    list_filter = ("status", "reason")
    raw_id_fields = ("reporter", "video", "comment", "user")


@admin.register(FlaggedPrompt)
class FlaggedPromptAdmin(QueueAdmin):
    item_kind = "prompt"
    list_display = ("id", "user", "category", "source", "score", "status", "created_at")
    list_filter = ("status", "category", "source")
    search_fields = ("prompt", "user__username")
    raw_id_fields = ("user",)


@admin.register(FlaggedFrames)
class FlaggedFramesAdmin(QueueAdmin):
    item_kind = "frames"
    list_display = ("id", "user", "check_name", "job", "released", "status", "created_at")
    exclude = ("frames_png",)
    raw_id_fields = ("user", "job")


@admin.register(Appeal)
class AppealAdmin(QueueAdmin):
    item_kind = "appeal"
    list_display = ("id", "appellant", "removal", "status", "created_at")
    raw_id_fields = ("appellant", "removal")


@admin.register(Decision)
class DecisionAdmin(admin.ModelAdmin):
    """The append-only log: readable, never editable or deletable, here or anywhere."""

    list_display = ("created_at", "actor_name", "action", "target_kind", "target_id", "subject_name", "note")
    list_filter = ("action", "target_kind")
    search_fields = ("actor_name", "subject_name", "note")
    actions = None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.register(CommentRemoval)
