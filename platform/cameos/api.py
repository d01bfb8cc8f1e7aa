"""Cameos API (thin): serializers check shapes, services decide, selectors read.

/api/cameos                          GET ?scope=mine|usable, POST (multipart: handle, image, permission)
/api/cameos/inbox                    GET: access requests and videos waiting for my approval
/api/cameos/<handle>                 GET, PATCH {permission}, DELETE (picture and fingerprints gone)
/api/cameos/<handle>/revoke          POST: nobody may use it any more; its videos are held
/api/cameos/<handle>/image           GET: the picture (owner, staff, people who may use it)
/api/cameos/<handle>/restrictions    GET, POST {text}; /<id> DELETE
/api/cameos/<handle>/access          POST {note}: ask for access; DELETE: withdraw or give up access
/api/cameos/<handle>/grants          GET, POST {username} (owner); /<username> DELETE (revoke);
                                     /<username>/approve, /<username>/deny POST
/api/cameos/<handle>/uses            GET: the dashboard (owner, staff); /<id> DELETE (video and remixes);
                                     /<id>/approve, /<id>/deny POST (per-video approval)
"""
from django.http import FileResponse, Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import user_get_by_username

from . import selectors, services
from .consent import consent_reason, picture_visible_to
from .models import Cameo, CameoGrant, CameoRestriction, CameoUse
from .pictures import MAX_BYTES


class RestrictionOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = CameoRestriction
        fields = ("id", "text", "created_at")


class CameoOutputSerializer(serializers.ModelSerializer):
    """A cameo as `viewer` (in the context) may see it: the picture's URL only for those allowed to
    see it; restrictions for everyone who may see the cameo (they are its terms of use)."""

    owner = serializers.CharField(source="owner.username")
    image_url = serializers.SerializerMethodField()
    restrictions = RestrictionOutputSerializer(many=True, read_only=True)
    access = serializers.SerializerMethodField()

    class Meta:
        model = Cameo
        fields = ("id", "handle", "owner", "permission", "status", "width", "height", "image_url",
                  "restrictions", "access", "created_at", "revoked_at")

    def _viewer(self):
        return self.context["request"].user

    def get_image_url(self, obj: Cameo) -> str | None:
        return f"/api/cameos/{obj.handle}/image" if picture_visible_to(cameo=obj, user=self._viewer()) else None

    def get_access(self, obj: Cameo) -> dict:
        """{"can_use": bool, "reason": why not, "request": the viewer's request status or null}"""
        viewer = self._viewer()
        reason = consent_reason(cameo=obj, user=viewer)
        grant = selectors.grant_get(cameo=obj, user=viewer)
        return {"can_use": reason is None, "reason": reason, "request": grant.status if grant else None}


class GrantOutputSerializer(serializers.ModelSerializer):
    cameo = serializers.CharField(source="cameo.handle")
    user = serializers.CharField(source="user.username")

    class Meta:
        model = CameoGrant
        fields = ("id", "cameo", "user", "status", "note", "created_at", "decided_at")


class UseOutputSerializer(serializers.ModelSerializer):
    """One video or draft that uses a cameo, for the cameo's owner."""

    cameo = serializers.CharField(source="cameo.handle")
    user = serializers.CharField(source="user.username")
    video = serializers.SerializerMethodField()

    class Meta:
        model = CameoUse
        fields = ("id", "cameo", "user", "named", "inherited", "approval", "created_at", "decided_at", "video")

    def get_video(self, obj: CameoUse) -> dict | None:
        v = obj.video
        if v is None:
            return None
        return {"id": v.pk, "owner": v.owner.username, "prompt": v.prompt, "status": v.status,
                "visibility": v.visibility, "held": v.consent_hold, "parent": v.parent_id, "depth": v.depth,
                "url": v.file.url if v.file else None, "poster_url": v.poster.url if v.poster else None,
                "created_at": v.created_at, "published_at": v.published_at}


def _cameo_or_404(handle: str, viewer) -> Cameo:
    cameo = selectors.cameo_get(handle=handle, viewer=viewer)
    if cameo is None:
        raise Http404(f"No cameo @{handle}.")
    return cameo


def _owned_or_403(handle: str, viewer, *, staff_ok: bool = False) -> Cameo:
    cameo = _cameo_or_404(handle, viewer)
    if cameo.owner_id != viewer.pk and not (staff_ok and viewer.is_staff):
        raise PermissionDenied(f"Only @{cameo.owner.username} may see or change this part of @{cameo.handle}.")
    return cameo


def _user_or_404(username: str):
    user = user_get_by_username(username=username)
    if user is None:
        raise Http404(f"No user @{username}.")
    return user


def _out(cameo: Cameo, request, code=status.HTTP_200_OK) -> Response:
    return Response(CameoOutputSerializer(cameo, context={"request": request}).data, status=code)


class CameoListApi(APIView):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "CameoCreateInput"

        handle = serializers.CharField(max_length=40, help_text="What prompts write after @")
        image = serializers.FileField(help_text=f"PNG, JPEG or WebP, at most {MAX_BYTES // 2**20} MB")
        permission = serializers.ChoiceField(choices=Cameo.Permission.choices, default=Cameo.Permission.ONLY_ME)

        def validate_image(self, f):
            if f.size > MAX_BYTES:
                raise serializers.ValidationError(f"The picture is too large: at most {MAX_BYTES // 2**20} MB.")
            return f

    @extend_schema(parameters=[OpenApiParameter("scope", str, enum=["mine", "usable"],
                                                description="mine: my cameos; usable: others' cameos I may use")],
                   responses={200: CameoOutputSerializer(many=True)})
    def get(self, request):
        scope = request.query_params.get("scope", "mine")
        if scope not in ("mine", "usable"):
            raise serializers.ValidationError({"scope": ["Choose mine or usable."]})
        qs = (selectors.cameo_list_owned(owner=request.user) if scope == "mine"
              else selectors.cameo_list_usable(user=request.user))
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(qs.prefetch_related("restrictions"), request, view=self)
        return paginator.get_paginated_response(CameoOutputSerializer(page, many=True, context={"request": request}).data)

    @extend_schema(request={"multipart/form-data": InputSerializer}, responses={201: CameoOutputSerializer})
    def post(self, request):
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        data = s.validated_data
        cameo = services.cameo_create(owner=request.user, handle=data["handle"], image=data["image"].read(),
                                      permission=data["permission"])
        return _out(cameo, request, status.HTTP_201_CREATED)


class CameoDetailApi(APIView):
    permission_classes = [permissions.IsAuthenticatedOrReadOnly]

    class UpdateSerializer(serializers.Serializer):
        class Meta:
            ref_name = "CameoUpdateInput"

        permission = serializers.ChoiceField(choices=Cameo.Permission.choices)

    @extend_schema(responses={200: CameoOutputSerializer})
    def get(self, request, handle: str):
        return _out(_cameo_or_404(handle, request.user), request)

    @extend_schema(request=UpdateSerializer, responses={200: CameoOutputSerializer})
    def patch(self, request, handle: str):
        cameo = _owned_or_403(handle, request.user)
        s = self.UpdateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        return _out(services.cameo_update(cameo=cameo, user=request.user, **s.validated_data), request)

    @extend_schema(responses={204: None})
    def delete(self, request, handle: str):
        services.cameo_delete(cameo=_owned_or_403(handle, request.user), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CameoRevokeApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses={200: CameoOutputSerializer})
    def post(self, request, handle: str):
        cameo = services.cameo_revoke(cameo=_owned_or_403(handle, request.user, staff_ok=True), user=request.user)
        return _out(cameo, request)


class CameoImageApi(APIView):
    """The picture, for its owner, staff and the people who may use the cameo (never a public URL:
    access ends when consent does)."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={(200, "image/png"): bytes})
    def get(self, request, handle: str):
        cameo = _cameo_or_404(handle, request.user)
        if not picture_visible_to(cameo=cameo, user=request.user):
            raise PermissionDenied(f"Only people @{cameo.owner.username} lets use @{cameo.handle} see its picture.")
        response = FileResponse(cameo.image.open("rb"), content_type="image/png")
        response["Cache-Control"] = "private, no-store"
        return response


class RestrictionListApi(APIView):
    permission_classes = [permissions.IsAuthenticatedOrReadOnly]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "CameoRestrictionInput"

        text = serializers.CharField(max_length=services.RESTRICTION_MAX_CHARS, allow_blank=True,
                                     help_text="Plain language, e.g. \u201cnever in political videos\u201d")

    @extend_schema(responses={200: RestrictionOutputSerializer(many=True)})
    def get(self, request, handle: str):
        cameo = _cameo_or_404(handle, request.user)
        return Response(RestrictionOutputSerializer(cameo.restrictions.all(), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: RestrictionOutputSerializer})
    def post(self, request, handle: str):
        cameo = _owned_or_403(handle, request.user)
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        restriction = services.restriction_add(cameo=cameo, user=request.user, text=s.validated_data["text"])
        return Response(RestrictionOutputSerializer(restriction).data, status=status.HTTP_201_CREATED)


class RestrictionDetailApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={204: None})
    def delete(self, request, handle: str, restriction_id: int):
        cameo = _owned_or_403(handle, request.user)
        restriction = cameo.restrictions.filter(pk=restriction_id).first()
        if restriction is None:
            raise Http404("No restriction with this id on this cameo.")
        services.restriction_remove(restriction=restriction, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AccessApi(APIView):
    """The viewer's own access to someone else's cameo: ask for it, or withdraw."""

    permission_classes = [permissions.IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "CameoAccessInput"

        note = serializers.CharField(required=False, allow_blank=True, default="", max_length=services.NOTE_MAX_CHARS)

    @extend_schema(request=InputSerializer, responses={201: GrantOutputSerializer})
    def post(self, request, handle: str):
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        grant = services.access_request(cameo=_cameo_or_404(handle, request.user), user=request.user,
                                        note=s.validated_data["note"])
        return Response(GrantOutputSerializer(grant).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def delete(self, request, handle: str):
        services.access_withdraw(cameo=_cameo_or_404(handle, request.user), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class GrantListApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "CameoGrantInput"

        username = serializers.CharField(max_length=150)

    @extend_schema(responses={200: GrantOutputSerializer(many=True)})
    def get(self, request, handle: str):
        cameo = _owned_or_403(handle, request.user)
        return Response(GrantOutputSerializer(selectors.grant_list_for_cameo(cameo=cameo), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: GrantOutputSerializer})
    def post(self, request, handle: str):
        cameo = _owned_or_403(handle, request.user)
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        grantee = user_get_by_username(username=s.validated_data["username"].lstrip("@"))
        if grantee is None:
            raise serializers.ValidationError({"username": ["No user with this username."]})
        grant = services.grant_create(cameo=cameo, user=request.user, grantee=grantee)
        return Response(GrantOutputSerializer(grant).data, status=status.HTTP_201_CREATED)


class GrantDetailApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: GrantOutputSerializer})
    def delete(self, request, handle: str, username: str):
        cameo = _owned_or_403(handle, request.user)
        grant = services.grant_revoke(cameo=cameo, user=request.user, grantee=_user_or_404(username))
        return Response(GrantOutputSerializer(grant).data)


class GrantDecideApi(APIView):
    permission_classes = [permissions.IsAuthenticated]
    approve = True

    @extend_schema(request=None, responses={200: GrantOutputSerializer})
    def post(self, request, handle: str, username: str):
        cameo = _owned_or_403(handle, request.user)
        grant = services.grant_decide(cameo=cameo, user=request.user, grantee=_user_or_404(username),
                                      approve=self.approve)
        return Response(GrantOutputSerializer(grant).data)


class UseListApi(APIView):
    """The owner's dashboard: every video and draft that uses the cameo (anyone's, held ones too)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: UseOutputSerializer(many=True)})
    def get(self, request, handle: str):
        cameo = _owned_or_403(handle, request.user, staff_ok=True)
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(selectors.use_list_for_cameo(cameo=cameo), request, view=self)
        return paginator.get_paginated_response(UseOutputSerializer(page, many=True).data)


def _use_or_404(cameo: Cameo, use_id: int) -> CameoUse:
    use = selectors.use_get(cameo=cameo, use_id=use_id)
    if use is None:
        raise Http404("No video with this cameo under this id.")
    return use


class UseDetailApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: dict})
    def delete(self, request, handle: str, use_id: int):
        cameo = _owned_or_403(handle, request.user, staff_ok=True)
        removed = services.use_remove(use=_use_or_404(cameo, use_id), user=request.user)
        return Response({"removed": removed})


class UseDecideApi(APIView):
    permission_classes = [permissions.IsAuthenticated]
    approve = True

    @extend_schema(request=None, responses={200: UseOutputSerializer})
    def post(self, request, handle: str, use_id: int):
        cameo = _owned_or_403(handle, request.user)
        use = services.use_decide(use=_use_or_404(cameo, use_id), user=request.user, approve=self.approve)
        return Response(UseOutputSerializer(selectors.use_get(cameo=cameo, use_id=use.pk)).data)


class InboxApi(APIView):
    """What waits for me: requests for my cameos and videos waiting for my approval."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: dict})
    def get(self, request):
        return Response({
            "requests": GrantOutputSerializer(selectors.request_list_pending(owner=request.user), many=True).data,
            "videos": UseOutputSerializer(selectors.use_list_pending(owner=request.user), many=True).data,
            "my_requests": GrantOutputSerializer(selectors.grant_list_for_user(user=request.user), many=True).data,
        })
