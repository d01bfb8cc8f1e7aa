"""Per-account daily generation limit (GENERATION["DAILY_LIMIT"], env GENERATION_DAILY_LIMIT).

Every job started counts, whatever became of it: cancelling and resubmitting must not get around
the limit. Days are UTC days, so everybody's limit resets at the same announced time."""
from datetime import datetime, time, timedelta, timezone

from django.conf import settings
from django.utils import timezone as dj_timezone

from config.exceptions import TooManyRequests


class QuotaExceeded(TooManyRequests):
    """The account used up today's generations (HTTP 429 with the reset time)."""


def generation_quota_check(*, user, now: datetime | None = None) -> None:
    """Raise QuotaExceeded when `user` has started DAILY_LIMIT jobs since 00:00 UTC today.
    Staff are exempt. Callers hold a lock on the user's row so two requests cannot both pass."""
    from generation.models import GenerationJob

    limit = settings.GENERATION.get("DAILY_LIMIT", 0)
    if not limit or user.is_staff:
        return
    now = now or dj_timezone.now()
    day_start = datetime.combine(now.astimezone(timezone.utc).date(), time.min, tzinfo=timezone.utc)
    resets_at = day_start + timedelta(days=1)
    used = GenerationJob.objects.filter(owner=user, created_at__gte=day_start).count()
    if used >= limit:
        raise QuotaExceeded(
            {"prompt": f"You have made {used} videos today, the daily limit of {limit}. "
                       f"It resets at {resets_at:%H:%M} UTC ({resets_at.isoformat()}).",
             "resets_at": resets_at.isoformat(), "limit": str(limit)},
            retry_after=max(1, int((resets_at - now).total_seconds())),
        )
