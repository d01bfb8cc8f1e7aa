"""Server-rendered pages. Thin: selectors read, services write, templates show."""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import selectors as account_selectors
from accounts import services as account_services
from feed import selectors as feed_selectors
from feed import services as feed_services
from feed.models import Video
from generation import selectors as job_selectors

from .forms import CommentForm, LoginForm, ProfileForm, SignupForm


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def feed_page(request):
    videos = feed_selectors.feed_list(viewer=request.user)[:60]
    return render(request, "frontend/feed.html", {"videos": videos, "nav": "feed"})


def signup_page(request):
    if request.user.is_authenticated:
        return redirect("frontend:feed")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = account_services.user_create(**form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to Spacetime, {user.name}!")
            return redirect("frontend:create")
    return render(request, "frontend/signup.html", {"form": form, "nav": "signup"})


def login_page(request):
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = authenticate(request, **form.cleaned_data)
        if user is None:
            form.add_error("password", "Wrong username or password.")
        else:
            login(request, user)
            target = request.GET.get("next") or ""
            return redirect(target if target.startswith("/") and not target.startswith("//") else "frontend:feed")
    return render(request, "frontend/login.html", {"form": form, "nav": "login"})


@require_POST
def logout_page(request):
    logout(request)
    return redirect("frontend:feed")


@login_required
def create_page(request):
    parent = None
    if request.GET.get("remix", "").isdigit():
        parent = feed_selectors.video_get(video_id=int(request.GET["remix"]), viewer=request.user)
    context = {
        "nav": "create",
        "drafts": feed_selectors.draft_list(owner=request.user)[:12],
        "jobs": job_selectors.job_list_for_user(user=request.user)[:8],
        "parent": parent,
        "defaults": settings.GENERATION,
    }
    return render(request, "frontend/create.html", context)


def video_page(request, video_id: int):
    video = feed_selectors.video_get(video_id=video_id, viewer=request.user)
    if video is None:
        raise Http404("No such video.")
    form = CommentForm(request.POST or None)
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect(f"/login?next={request.path}")
        if form.is_valid():
            try:
                feed_services.comment_create(video=video, author=request.user, body=form.cleaned_data["body"])
            except ValidationError as exc:
                _add_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
            else:
                return redirect("frontend:video", video_id=video.pk)
    context = {
        "video": video,
        "comments": feed_selectors.comment_list(video=video),
        "form": form,
        "visibilities": Video.Visibility.choices,
        "lineage": _lineage(video, request.user),
    }
    return render(request, "frontend/video.html", context)


def _lineage(video: Video, viewer) -> list[Video]:
    chain, seen, current = [], {video.pk}, video.parent
    while current is not None and current.pk not in seen and len(chain) < 10:
        visible = feed_selectors.video_get(video_id=current.pk, viewer=viewer)
        if visible is None:
            break
        chain.append(visible)
        seen.add(current.pk)
        current = current.parent
    return chain


def profile_page(request, username: str):
    owner = account_selectors.user_get_by_username(username=username)
    if owner is None:
        raise Http404("No such user.")
    is_self = request.user.is_authenticated and request.user.pk == owner.pk
    form = ProfileForm(request.POST or None, initial={"display_name": owner.display_name, "bio": owner.bio})
    if request.method == "POST" and is_self and form.is_valid():
        account_services.user_update_profile(user=owner, **form.cleaned_data)
        return redirect("frontend:profile", username=owner.username)
    context = {
        "profile": owner,
        "is_self": is_self,
        "counts": account_selectors.user_counts(user=owner),
        "is_following": account_selectors.user_is_following(follower=request.user, followee=owner),
        "is_blocked": account_selectors.user_has_blocked(blocker=request.user, blocked=owner),
        "blocked_me": account_selectors.user_has_blocked(blocker=owner, blocked=request.user)
        if request.user.is_authenticated else False,
        "videos": feed_selectors.video_list_for_profile(owner=owner, viewer=request.user)[:60],
        "form": form,
        "nav": "profile" if is_self else "",
    }
    return render(request, "frontend/profile.html", context)
