"""Serve local media (embedded default) with HTTP Range support, so <video> can seek and loop.
With S3 storage the browser fetches media from the bucket and this view is not routed."""
import mimetypes
import os
import re

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse
from django.utils._os import safe_join

RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def media_serve(request, path: str):
    if path.startswith("cameos/"):  # likeness pictures: only through /api/cameos/<handle>/image (consent checked)
        raise Http404("Not found.")
    try:
        full = safe_join(settings.MEDIA_ROOT, path)
    except Exception:
        raise Http404("Not found.")
    if not os.path.isfile(full):
        raise Http404("Not found.")
    size = os.path.getsize(full)
    content_type = mimetypes.guess_type(full)[0] or "application/octet-stream"
    match = RANGE_RE.match(request.headers.get("Range", ""))
    if match and (match.group(1) or match.group(2)):
        if match.group(1):
            start = int(match.group(1))
            end = min(int(match.group(2)) if match.group(2) else size - 1, size - 1)
        else:
            start, end = max(0, size - int(match.group(2))), size - 1
        if start > end or start >= size:
            res = HttpResponse(status=416)
            res["Content-Range"] = f"bytes */{size}"
            return res
        with open(full, "rb") as fh:
            fh.seek(start)
            body = fh.read(end - start + 1)
        res = HttpResponse(body, status=206, content_type=content_type)
        res["Content-Range"] = f"bytes {start}-{end}/{size}"
    else:
        res = FileResponse(open(full, "rb"), content_type=content_type)
        res["Content-Length"] = str(size)
    res["Accept-Ranges"] = "bytes"
    res["Cache-Control"] = "private, max-age=3600"
    return res
