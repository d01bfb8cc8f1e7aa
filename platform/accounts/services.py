"""Writes for accounts: sign up, profile edits, follow, block."""
import re

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import transaction
from rest_framework.authtoken.models import Token

from config.exceptions import Conflict

from .models import Block, Follow, User

USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{3,30}$")


@transaction.atomic
def user_create(*, username: str, password: str, email: str = "", display_name: str = "") -> User:
    username = (username or "").strip()
    if not USERNAME_RE.match(username):
        raise ValidationError({"username": "Use 3 to 30 letters, digits or underscores."})
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": "This username is taken."})
    if len(display_name) > 80:
        raise ValidationError({"display_name": "At most 80 characters."})
    for field, value in (("display_name", display_name), ("email", email or "")):
        if "\x00" in value:  # PostgreSQL cannot store it
            raise ValidationError({field: "Null characters are not allowed."})
    user = User(username=username, email=(email or "").strip(), display_name=display_name.strip())
    try:
        password_validation.validate_password(password or "", user=user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    Token.objects.create(user=user)
    return user


@transaction.atomic
def user_update_profile(*, user: User, display_name: str | None = None, bio: str | None = None) -> User:
    for field, value in (("display_name", display_name), ("bio", bio)):
        if value is not None and "\x00" in value:  # PostgreSQL cannot store it
            raise ValidationError({field: "Null characters are not allowed."})
    if display_name is not None:
        if len(display_name) > 80:
            raise ValidationError({"display_name": "At most 80 characters."})
        user.display_name = display_name.strip()
    if bio is not None:
        if len(bio) > 300:
            raise ValidationError({"bio": "At most 300 characters."})
        user.bio = bio.strip()
    user.save(update_fields=["display_name", "bio"])
    return user


def _is_blocked_either_way(a: User, b: User) -> bool:
    return Block.objects.filter(blocker=a, blocked=b).exists() or Block.objects.filter(blocker=b, blocked=a).exists()


@transaction.atomic
def user_follow(*, follower: User, followee: User) -> Follow:
    if follower.pk == followee.pk:
        raise ValidationError({"username": "You cannot follow yourself."})
    if _is_blocked_either_way(follower, followee):
        raise Conflict({"username": "You cannot follow this account."})
    follow, _ = Follow.objects.get_or_create(follower=follower, followee=followee)
    return follow


@transaction.atomic
def user_unfollow(*, follower: User, followee: User) -> None:
    Follow.objects.filter(follower=follower, followee=followee).delete()


@transaction.atomic
def user_block(*, blocker: User, blocked: User) -> Block:
    """Block someone: they can no longer see, follow, like or comment on the blocker's videos,
    and follows in both directions end."""
    if blocker.pk == blocked.pk:
        raise ValidationError({"username": "You cannot block yourself."})
    block, _ = Block.objects.get_or_create(blocker=blocker, blocked=blocked)
    Follow.objects.filter(follower=blocker, followee=blocked).delete()
    Follow.objects.filter(follower=blocked, followee=blocker).delete()
    return block


@transaction.atomic
def user_unblock(*, blocker: User, blocked: User) -> None:
    Block.objects.filter(blocker=blocker, blocked=blocked).delete()
