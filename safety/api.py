"""Safety API (thin): verify an MP4's C2PA provenance."""
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from .selectors import provenance_lineage, provenance_read

MAX_UPLOAD = 64 * 1024 * 1024


class VerifyInput(serializers.Serializer):
    file = serializers.FileField(help_text="An MP4 file.")

    def validate_file(self, f):
        if f.size > MAX_UPLOAD:
            raise serializers.ValidationError(f"The file is too large: at most {MAX_UPLOAD // 2**20} MiB.")
        head = f.read(12)
        f.seek(0)
        if len(head) < 12 or head[4:8] != b"ftyp":  # every MP4 opens with its ftyp box
            raise serializers.ValidationError("This is not an MP4 file (no ftyp box at the start).")
        return f


class ProvenanceVerifyApi(APIView):
    """Upload an MP4; get its C2PA manifest, validation state and lineage (parent ingredient, and
    the clip's video and parent on this instance when this instance signed it)."""

    permission_classes = [permissions.AllowAny]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": VerifyInput}, responses={200: dict})
    def post(self, request):
        data = VerifyInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = provenance_read(mp4=data.validated_data["file"].read())
        return Response(result | {"lineage": lineage_data(provenance_lineage(result=result, viewer=request.user))})


def lineage_data(lineage: dict) -> dict:
    """Ids and page addresses of the clip's video and parent on this instance (null: not found or
    not visible to the caller)."""
    video, parent = lineage["video"], lineage["parent"]
    return {"resolved": lineage["resolved"], "video": video.pk if video else None,
            "parent": parent.pk if parent else None, "parent_id": lineage["parent_id"],
            "lineage_url": f"/v/{(video or parent).pk}/lineage" if (video or parent) else None}
