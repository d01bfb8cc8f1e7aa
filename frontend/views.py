"""Server-rendered pages. Thin: selectors read, services write, templates show."""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseBadRequest, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from rest_framework.exceptions import Throttled

from config.throttling import LoginIpRateThrottle, LoginRateThrottle, SignupRateThrottle, throttle_check

from accounts import selectors as account_selectors
from accounts import services as account_services
from feed import selectors as feed_selectors
from feed import services as feed_services
from feed.for_you import selectors as for_you_selectors
from feed.for_you.attributes import label as attribute_label
from feed.models import Video
from generation import selectors as job_selectors

from .forms import CommentForm, LoginForm, ProfileForm, SignupForm


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


FEED_TABS = {"for-you": "for_you", "following": "following"}


def _feed_read(request, tab: str, cursor: str | None):
    """One page of a feed tab (For You for anyone; Following for signed-in people)."""
    if tab == "following":
        return for_you_selectors.following_page(viewer=request.user, cursor_token=cursor)
    return for_you_selectors.for_you_page(viewer=request.user, cursor_token=cursor)


def feed_page(request):
    """The vertical feed: tabs For You / Following, steering chips, the first page server-rendered
    (the page's script fetches the next ones from `feed_cards`, the same card template)."""
    tab = FEED_TABS.get(request.GET.get("tab", "for-you"), "for_you")
    login_needed = tab == "following" and not request.user.is_authenticated
    page = for_you_selectors.FeedPage() if login_needed else _feed_read(request, tab, None)
    chips = []
    if request.user.is_authenticated:
        chips = [{"attribute": c.attribute, "label": attribute_label(c.attribute), "weight": c.weight}
                 for c in for_you_selectors.steering_chip_list(user=request.user)]
    context = {"entries": page.entries, "next": page.next_cursor, "tab": tab, "chips": chips,
               "login_needed": login_needed, "nav": "feed"}
    return render(request, "frontend/feed.html", context)


def feed_cards(request):
    """More cards for the feed page: `?tab=for-you|following&cursor=...` -> HTML cards, the
    next cursor in the X-Next-Cursor header (empty at the end)."""
    tab = FEED_TABS.get(request.GET.get("tab", "for-you"))
    if tab is None:
        return HttpResponseBadRequest("tab: choose for-you or following.")
    if tab == "following" and not request.user.is_authenticated:
        return HttpResponseForbidden("Log in to see the people you follow.")
    try:
        page = _feed_read(request, tab, request.GET.get("cursor") or None)
    except ValidationError as exc:
        return HttpResponseBadRequest(" ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items()))
    response = render(request, "frontend/_feed_cards.html", {"entries": page.entries})
    response["X-Next-Cursor"] = page.next_cursor or ""
    return response


def _throttled(request, form, *throttle_classes, username: str = "") -> bool:
    """True (and an error on the form) when this address ran out of attempts: the page answers 429."""
    try:
        throttle_check(request, *throttle_classes, username=username)
    except Throttled as exc:
        form.add_error(None, f"Too many attempts. Try again in {int(exc.wait or 60)} seconds.")
        return True
    return False


def signup_page(request):
    if request.user.is_authenticated:
        return redirect("frontend:feed")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and _throttled(request, form, SignupRateThrottle):
        return render(request, "frontend/signup.html", {"form": form, "nav": "signup"}, status=429)
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
    if request.method == "POST" and _throttled(request, form, LoginRateThrottle, LoginIpRateThrottle,
                                               username=request.POST.get("username", "")):
        return render(request, "frontend/login.html", {"form": form, "nav": "login"}, status=429)
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
    from moderation.models import Report

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
        "report_reasons": Report.Reason.choices,
    }
    return render(request, "frontend/video.html", context)


def _lineage(video: Video, viewer) -> list[Video]:
    """The visible ancestors, parent first (at most 10), in one read through the lineage path."""
    ids = video.ancestor_ids[::-1][:10]
    if not ids:
        return []
    rows = {v.pk: v for v in feed_selectors.video_visible_qs(viewer=viewer).filter(pk__in=ids).select_related("owner")}
    chain = []
    for pk in ids:  # stop at the first one the viewer may not see
        if pk not in rows:
            break
        chain.append(rows[pk])
    return chain


TREE_SHOWN_CHILDREN = 3  # a branch shows this many remixes; the rest fold under "+N more"
TREE_PAGE = 200  # descendants drawn on one page (breadth first); deeper ones: open that branch


def _tree(root: Video, descendants: list[Video]) -> dict:
    """Nest one page of descendants under `root`. A descendant whose parent the viewer may not see
    hangs under a hidden placeholder (one per such parent, nothing about it shown)."""
    nodes = {root.pk: {"video": root, "children": []}}
    for v in descendants:
        nodes[v.pk] = {"video": v, "children": []}
    placeholders: dict[int, dict] = {}
    for v in descendants:
        parent = nodes.get(v.parent_id) if getattr(v, "parent_visible", False) else None
        if parent is None:
            key = v.parent_id or 0
            if key not in placeholders:
                placeholders[key] = {"video": None, "children": []}
                nodes[root.pk]["children"].append(placeholders[key])
            parent = placeholders[key]
        parent["children"].append(nodes[v.pk])

    def fold(node: dict) -> None:
        kids = node["children"]
        node["shown"], node["folded"] = kids[:TREE_SHOWN_CHILDREN], kids[TREE_SHOWN_CHILDREN:]
        video = node["video"]
        node["unloaded"] = max(0, (getattr(video, "remix_count", 0) or 0) - len(kids)) if video else 0
        for kid in kids:
            fold(kid)

    fold(nodes[root.pk])
    return nodes[root.pk]


def lineage_page(request, video_id: int):
    """The family tree of a video as a picture: ancestors above, remixes below, thumbnails."""
    offset = int(request.GET["offset"]) if request.GET.get("offset", "").isdigit() else 0
    lineage = feed_selectors.lineage_get(video_id=video_id, viewer=request.user, limit=TREE_PAGE, offset=offset)
    if lineage is None:
        raise Http404("No such video.")
    ancestors = [{"pk": pk, "video": v} for pk, v in lineage.ancestors]
    head, middle, tail = ancestors, [], []
    if len(ancestors) > 6:  # a long chain folds its middle
        head, middle, tail = ancestors[:2], ancestors[2:-3], ancestors[-3:]
    context = {
        "video": lineage.video,
        "head": head, "middle": middle, "tail": tail,
        "tree": _tree(lineage.video, lineage.descendants),
        "lineage": lineage,
        "next_offset": offset + TREE_PAGE if offset + TREE_PAGE < lineage.descendant_count else None,
    }
    return render(request, "frontend/lineage.html", context)


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
