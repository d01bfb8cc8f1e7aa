"""Safety selectors (reads)."""
from django.core.exceptions import ValidationError

from .provenance import mp4_verify


def provenance_read(*, mp4: bytes) -> dict:
    """What an uploaded MP4 says about where it came from, checked against this instance's CA."""
    result = mp4_verify(mp4=mp4)
    manifest = result.get("manifest") or {}
    generation = next((a.get("data") for a in manifest.get("assertions", [])
                       if a.get("label") == "org.spacetime.generation"), None)
    return {
        "state": result["state"],
        "valid": result["state"] in ("Valid", "Trusted"),
        "trusted": result["state"] == "Trusted",
        "validation": result["validation"],
        "parent": result["parent"],
        "generation": generation,
        "signer": (manifest.get("signature_info") or {}).get("issuer"),
        "manifest": result.get("manifest"),
        "error": result.get("error"),
    }


def provenance_lineage(*, result: dict, viewer) -> dict:
    """Where a verified clip sits on this instance: its video and its parent video, as far as
    `viewer` may see them. Only a manifest this instance signed (state Trusted) is looked up: ids
    in anybody else's manifest, or in a tampered one, mean nothing here."""
    from feed.selectors import video_visible_qs
    from generation.models import GenerationJob

    out = {"resolved": False, "video": None, "parent": None, "parent_id": None}
    generation = result.get("generation") or {}
    if result.get("state") != "Trusted" or not generation:
        return out
    out["resolved"] = True
    visible = video_visible_qs(viewer=viewer).select_related("owner")
    job_id = generation.get("job")
    video_id = None
    if job_id:
        try:
            video_id = GenerationJob.objects.filter(pk=job_id).values_list("video_id", flat=True).first()
        except (ValueError, ValidationError):  # not a job id of this instance
            video_id = None
    parent_id = generation.get("parent_video")
    out["parent_id"] = int(parent_id) if str(parent_id or "").isdigit() else None
    ids = [i for i in (video_id, out["parent_id"]) if i]
    rows = {v.pk: v for v in visible.filter(pk__in=ids)} if ids else {}
    out["video"], out["parent"] = rows.get(video_id), rows.get(out["parent_id"])
    return out
