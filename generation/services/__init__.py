"""Generation services (writes). Split by concern: jobs (lifecycle), run (the worker's part),
events (what subscribers are told)."""
from .jobs import (  # noqa: F401
    IllegalTransition,
    job_cancel,
    job_create,
    job_reap_stale,
    job_resend_unclaimed,
    job_retry,
    job_transition,
    job_validate,
)
from .run import job_claim, job_run  # noqa: F401
