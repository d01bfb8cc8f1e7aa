"""Reads for accounts."""
from django.db.models import Q, QuerySet

from .models import Block, Follow, User


def user_get_by_username(*, username: str) -> User | None:
    return User.objects.filter(username__iexact=username, is_active=True).first()


def user_is_following(*, follower: User, followee: User) -> bool:
    if not follower.is_authenticated:
        return False
    return Follow.objects.filter(follower=follower, followee=followee).exists()


def user_has_blocked(*, blocker: User, blocked: User) -> bool:
    if not blocker.is_authenticated:
        return False
    return Block.objects.filter(blocker=blocker, blocked=blocked).exists()


def user_blocks_qs(*, user: User) -> QuerySet:
    """(blocker_id, blocked_id) of every block between `user` and anyone, in either direction."""
    return Block.objects.filter(Q(blocker=user) | Q(blocked=user)).values_list("blocker_id", "blocked_id")


def user_blocked_ids_of(rows, *, user: User) -> set[int]:
    """The other account of each (blocker_id, blocked_id) row of `user_blocks_qs`."""
    return {b if a == user.pk else a for a, b in rows}


def user_blocked_ids(*, user: User) -> set[int]:
    """Ids of accounts with a block between them and `user`, in either direction."""
    if not user.is_authenticated:
        return set()
    return user_blocked_ids_of(user_blocks_qs(user=user), user=user)


def user_followee_ids(*, user: User) -> set[int]:
    if not user.is_authenticated:
        return set()
    return set(Follow.objects.filter(follower=user).values_list("followee_id", flat=True))


def user_counts(*, user: User) -> dict:
    return {
        "followers": Follow.objects.filter(followee=user).count(),
        "following": Follow.objects.filter(follower=user).count(),
    }


def user_followers(*, user: User) -> QuerySet[User]:
    return User.objects.filter(following_set__followee=user).order_by("username")
