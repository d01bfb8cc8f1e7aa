"""Safety pages: verify a clip's provenance."""
import json

from django.shortcuts import render

from .api import MAX_UPLOAD
from .selectors import provenance_lineage, provenance_read


def verify_page(request):
    """Upload an MP4: its C2PA manifest, whether the signature holds (and is this instance's), what
    it says about how it was made, and where it sits in a remix lineage on this instance."""
    context = {"nav": "verify", "max_mib": MAX_UPLOAD // 2**20}
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            context["error"] = "Choose an MP4 file to verify."
        elif upload.size > MAX_UPLOAD:
            context["error"] = f"The file is too large: at most {MAX_UPLOAD // 2**20} MiB."
        else:
            result = provenance_read(mp4=upload.read())
            context.update(
                filename=upload.name, result=result,
                lineage=provenance_lineage(result=result, viewer=request.user),
                manifest_json=json.dumps(result["manifest"], indent=2, sort_keys=True) if result["manifest"] else "",
            )
    return render(request, "frontend/verify.html", context, status=400 if "error" in context else 200)
