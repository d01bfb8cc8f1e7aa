"""Accounts API: sign up, tokens, profiles, follow and block. Thin: serializers check shapes,
services decide."""
from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.response import Response
from rest_framework.views import APIView

from config.throttling import LoginIpRateThrottle, LoginRateThrottle, SignupRateThrottle

from . import selectors, services
from .models import User


class UserOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ("id", "username", "display_name", "bio")


class ProfileOutputSerializer(UserOutputSerializer):
    followers = serializers.IntegerField()
    following = serializers.IntegerField()
    is_following = serializers.BooleanField()
    is_blocked = serializers.BooleanField()

    class Meta(UserOutputSerializer.Meta):
        fields = UserOutputSerializer.Meta.fields + ("followers", "following", "is_following", "is_blocked")


def profile_data(*, user: User, viewer) -> dict:
    data = UserOutputSerializer(user).data
    data.update(selectors.user_counts(user=user))
    data["is_following"] = selectors.user_is_following(follower=viewer, followee=user)
    data["is_blocked"] = selectors.user_has_blocked(blocker=viewer, blocked=user)
    return data


class SignupApi(APIView):
    permission_classes = [permissions.AllowAny]
    throttle_classes = [SignupRateThrottle]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "SignupInput"

        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=128, write_only=True)
        email = serializers.EmailField(required=False, allow_blank=True)
        display_name = serializers.CharField(required=False, allow_blank=True, max_length=80)

    @extend_schema(request=InputSerializer, responses={201: UserOutputSerializer})
    def post(self, request):
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        user = services.user_create(**s.validated_data)
        data = UserOutputSerializer(user).data
        data["token"] = user.auth_token.key
        return Response(data, status=status.HTTP_201_CREATED)


class TokenApi(APIView):
    """Exchange a username and password for an API token (header `Authorization: Token <key>`)."""

    permission_classes = [permissions.AllowAny]
    throttle_classes = [LoginRateThrottle, LoginIpRateThrottle]  # password guessing: 429

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TokenInput"

        username = serializers.CharField()
        password = serializers.CharField(write_only=True)

    @extend_schema(request=InputSerializer, responses={200: dict})
    def post(self, request):
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        user = authenticate(request, **s.validated_data)
        if user is None:
            raise serializers.ValidationError({"password": ["Wrong username or password."]})
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key, "username": user.username})


class MeApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "MeInput"

        display_name = serializers.CharField(required=False, allow_blank=True, max_length=80)
        bio = serializers.CharField(required=False, allow_blank=True, max_length=300)

    @extend_schema(responses={200: ProfileOutputSerializer})
    def get(self, request):
        return Response(profile_data(user=request.user, viewer=request.user))

    @extend_schema(request=InputSerializer, responses={200: ProfileOutputSerializer})
    def patch(self, request):
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        services.user_update_profile(user=request.user, **s.validated_data)
        return Response(profile_data(user=request.user, viewer=request.user))


def _user_or_404(username: str) -> User:
    user = selectors.user_get_by_username(username=username)
    if user is None:
        from django.http import Http404

        raise Http404("No user with this username.")
    return user


class ProfileApi(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: ProfileOutputSerializer})
    def get(self, request, username: str):
        return Response(profile_data(user=_user_or_404(username), viewer=request.user))


class FollowApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses={200: ProfileOutputSerializer})
    def post(self, request, username: str):
        user = _user_or_404(username)
        services.user_follow(follower=request.user, followee=user)
        return Response(profile_data(user=user, viewer=request.user))

    @extend_schema(request=None, responses={200: ProfileOutputSerializer})
    def delete(self, request, username: str):
        user = _user_or_404(username)
        services.user_unfollow(follower=request.user, followee=user)
        return Response(profile_data(user=user, viewer=request.user))


class BlockApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses={200: ProfileOutputSerializer})
    def post(self, request, username: str):
        user = _user_or_404(username)
        services.user_block(blocker=request.user, blocked=user)
        return Response(profile_data(user=user, viewer=request.user))

    @extend_schema(request=None, responses={200: ProfileOutputSerializer})
    def delete(self, request, username: str):
        user = _user_or_404(username)
        services.user_unblock(blocker=request.user, blocked=user)
        return Response(profile_data(user=user, viewer=request.user))


