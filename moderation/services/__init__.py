"""Moderation services (writes). Split by concern: reports and appeals (what users send), flags
(what the checks record), actions (what staff decide, logged), quota (generation limits)."""
from .actions import ITEM_KINDS, moderation_act  # noqa: F401
from .flags import frames_flag, frames_released, prompt_flag  # noqa: F401
from .quota import QuotaExceeded, generation_quota_check  # noqa: F401
from .reports import appeal_create, report_create  # noqa: F401
