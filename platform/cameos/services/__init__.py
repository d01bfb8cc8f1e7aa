"""Writes for cameos: upload, settings, restrictions, access (requests, grants), revocation and
deletion, and the checks every door runs: job_create, the worker, publishing.

Consent, once taken back, is honoured everywhere: the videos and drafts it no longer covers get
`Video.consent_hold` together with every remix below them at any depth (feed's one visibility gate
then hides them from everyone but staff; the cameo's owner still sees them on the dashboard), jobs
not yet run are refused by the worker, drafts can no longer be posted.
"""
from .access import (  # noqa: F401
    NOTE_MAX_CHARS,
    access_request,
    access_withdraw,
    grant_create,
    grant_decide,
    grant_revoke,
)
from .base import videos_hold  # noqa: F401
from .cameos import (  # noqa: F401
    MAX_CAMEOS_PER_USER,
    MAX_RESTRICTIONS,
    RESTRICTION_MAX_CHARS,
    cameo_create,
    cameo_delete,
    cameo_image_array,
    cameo_revoke,
    cameo_update,
    likeness_matches,
    restriction_add,
    restriction_remove,
)
from .dashboard import use_decide, use_remove  # noqa: F401
from .doors import (  # noqa: F401
    CameoRefused,
    cameos_found_in_frames,
    job_cameos_attach,
    job_cameos_check,
    job_cameos_preflight,
    job_cameos_record,
    video_publish_cameos,
)
