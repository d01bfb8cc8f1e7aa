"""Fill a database with a realistic large site, for development and benchmarks.

    python manage.py seed_site --users 10000 --videos 100000 --likes 1000000 --seed 1

DEVELOPMENT DATA: every seeded video shares one of 168 small placeholder clips (a Flatland clip of
its prompt's colour, shape and background, rendered once by generation.dit.world and stored
through the configured storage under seed/); no model runs. Every seeded account's password is
"spacetime-seed"; the account "bench" follows --bench-follows people (the benchmark's viewer).

What makes it realistic: creators' activity and videos' popularity are heavy-tailed (a few make
and get most), people follow popular creators more, each person has a favourite colour that most
of their likes go to (so taste signals mean something), uploads are denser in recent days,
a fifth of the videos are remixes of earlier ones (chains many generations deep, materialized
lineage paths like the remix service writes), views with watch time for every like and more,
comments, some follower-only/private/removed/consent-held videos, and denormalized counters and
trending keys computed the way the services compute them.

Fast: numpy draws everything, then each table is written in one go, with COPY through psycopg 3 on
PostgreSQL and executemany on SQLite (1M likes: about a minute on PostgreSQL). Deterministic for a
given --seed (timestamps are relative to now).
"""
from __future__ import annotations

import io
import math
import random
import time

import numpy as np
from django.contrib.auth.hashers import make_password
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError
from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import Follow, User
from feed.for_you import attributes, trending
from feed.models import Comment, Like, Video, VideoView

COLOUR_WORDS = {"red": ["red", "crimson", "scarlet"], "orange": ["orange", "tangerine"], "yellow": ["yellow", "golden"],
                "green": ["green"], "blue": ["blue", "navy"], "purple": ["purple", "violet"],
                "white": ["white"], "black": ["black", "charcoal"]}
SHAPE_WORDS = {"circle": ["circle", "ball", "orb", "disc"], "square": ["square", "cube"], "triangle": ["triangle", "pyramid"]}
SIZE_WORDS = {"small": ["small", "tiny", "little"], "big": ["big", "huge", "large"]}
MOTION_WORDS = {"left": ["moving left", "sliding left", "moving to the left"], "right": ["moving right", "gliding right"],
                "up": ["moving up", "rising"], "down": ["moving down", "going down"],
                "still": ["standing still", "resting"], "falling": ["falling and bouncing", "bouncing", "dropping"]}
COMMENTS = ["love this", "so smooth", "the bounce!", "remixing this", "colours are perfect", "how did you prompt this?",
            "again!", "wow", "this is hypnotic", "more like this please", "the physics", "nice one", "🔥", "clean"]
SEED_PASSWORD = "spacetime-seed"
KINDS = ["single", "pair", "wall"]


def seed_prompt(words: random.Random, colour: int, shape: int, size: int, motion: int, background: int,
                kind: int) -> tuple[str, set[str]]:
    """A prompt in varied words (synonyms the prompt normalizer maps back: "crimson ball", "navy
    backdrop") and the attributes it states. The seed tags videos with these directly instead of
    running the normalizer's MiniLM over 100k prompts; tests/feed/test_seed_site.py checks that
    `attributes.prompt_tags` reads every phrasing here the same way."""
    C, S, Z, M = attributes.COLOURS, attributes.SHAPES, attributes.SIZES, attributes.MOTIONS
    subject = f"{words.choice(SIZE_WORDS[Z[size]])} {words.choice(COLOUR_WORDS[C[colour]])} {words.choice(SHAPE_WORDS[S[shape]])}"
    tags = {f"colour:{C[colour]}", f"shape:{S[shape]}", f"size:{Z[size]}", f"background:{C[background]}"}
    if KINDS[kind] == "pair":
        other = next(c for c in ((colour + k) % 8 for k in (3, 4, 5)) if c != background)
        body = f"a {subject} to the left of a {C[other]} {S[(shape + 1) % 3]}"
        tags |= {f"colour:{C[other]}", f"shape:{S[(shape + 1) % 3]}", "scene:pair"}
    else:
        body = f"a {subject} {words.choice(MOTION_WORDS[M[motion]])}"
        tags.add(f"motion:{M[motion]}")
        if KINDS[kind] == "wall":
            body += " behind a gray wall"
            tags.add("scene:wall")
    backdrop = words.choice(["background", "backdrop"])
    return f"{body} on a {words.choice(COLOUR_WORDS[C[background]])} {backdrop}", tags


class Command(BaseCommand):
    help = __doc__.split("\n\n")[0] + " DEVELOPMENT DATA: placeholder media shared by all seeded videos."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=10_000)
        parser.add_argument("--videos", type=int, default=100_000)
        parser.add_argument("--likes", type=int, default=1_000_000)
        parser.add_argument("--views", type=int, default=None, help="default: 1.5 x likes (every like is a view)")
        parser.add_argument("--comments", type=int, default=None, help="default: likes / 10")
        parser.add_argument("--follows", type=float, default=20.0, help="mean follows per account")
        parser.add_argument("--bench-follows", type=int, default=500, help="follows of the account 'bench'")
        parser.add_argument("--remix-share", type=float, default=0.2)
        parser.add_argument("--days", type=float, default=60.0, help="how far back the site goes")
        parser.add_argument("--prefix", default="seed", help="usernames are <prefix>00001...")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, **o):
        if o["users"] < 2 or o["videos"] < 1 or o["likes"] < 0:
            raise CommandError("--users must be at least 2 and --videos at least 1.")
        if o["bench_follows"] >= o["users"]:
            raise CommandError(f"--bench-follows ({o['bench_follows']}) must be below --users ({o['users']}).")
        if User.objects.filter(username__in=["bench", f"{o['prefix']}00001"]).exists():
            raise CommandError("This database is already seeded (user 'bench' exists); use a fresh database.")
        started = time.perf_counter()
        seeder = Seeder(o, log=lambda msg: self.stdout.write(f"[{time.perf_counter() - started:6.1f}s] {msg}"))
        seeder.run()
        self.stdout.write(self.style.SUCCESS(f"Seeded in {time.perf_counter() - started:.1f}s: {seeder.summary}"))


class Seeder:
    def __init__(self, options: dict, log):
        self.o, self.log = options, log
        self.rng = np.random.default_rng(options["seed"])
        self.now = timezone.now()
        self.now_s = self.now.timestamp()
        self.summary = ""

    # --- writing ---------------------------------------------------------------------------------
    def _stamp(self, seconds: np.ndarray) -> np.ndarray:
        """Epoch seconds -> timestamp text both backends store (UTC)."""
        text = np.datetime_as_string((seconds * 1e6).astype("datetime64[us]"), unit="us")
        return np.char.add(np.char.replace(text, "T", " "), "+00:00" if connection.vendor == "postgresql" else "")

    def _write(self, model, columns: dict[str, object], n: int) -> None:
        """Insert n rows; each column is a numpy array or a list (None = NULL), or a scalar."""
        names = list(columns)
        cols = [columns[c] if isinstance(columns[c], (list, np.ndarray)) else [columns[c]] * n for c in names]
        table = model._meta.db_table
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                def cell(v):
                    if v is None:
                        return "\\N"
                    if isinstance(v, (bool, np.bool_)):
                        return "t" if v else "f"
                    return str(v).replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")
                text_cols = [np.array(c, dtype=object) if isinstance(c, list) else c for c in cols]
                buf = io.StringIO()
                for start in range(0, n, 200_000):
                    chunk = [[cell(v) for v in c[start:start + 200_000]] for c in text_cols]
                    buf.write("\n".join("\t".join(row) for row in zip(*chunk)))
                    buf.write("\n")
                with cursor.cursor.copy(f'COPY "{table}" ({", ".join(names)}) FROM STDIN') as copy:
                    copy.write(buf.getvalue())
            else:
                rows = zip(*[[v.item() if hasattr(v, "item") else v for v in c] for c in cols])
                placeholders = ", ".join(["%s"] * len(names))
                cursor.executemany(f'INSERT INTO "{table}" ({", ".join(names)}) VALUES ({placeholders})', list(rows))
        self.log(f"{table}: {n:,} rows")

    def _next_id(self, model) -> int:
        return (model.objects.aggregate(m=Max("pk"))["m"] or 0) + 1

    # --- the site --------------------------------------------------------------------------------
    def run(self) -> None:
        o, rng = self.o, self.rng
        U, V = o["users"], o["videos"]
        L = o["likes"]
        views = o["views"] if o["views"] is not None else int(L * 1.5)
        comments = o["comments"] if o["comments"] is not None else L // 10

        # people: activity (how much they post) and appeal (how many follow them) are heavy-tailed
        user_ids = np.arange(U) + self._next_id(User)
        activity = rng.pareto(1.3, U) + 0.05
        favourite = rng.integers(0, len(attributes.COLOURS), U)
        joined = self.now_s - rng.uniform(1, o["days"] + 30, U) * 86400
        password = make_password(SEED_PASSWORD)
        usernames = ["bench"] + [f"{o['prefix']}{i:05d}" for i in range(1, U)]
        self._write(User, {"id": user_ids, "password": password, "is_superuser": False, "username": usernames,
                           "first_name": "", "last_name": "", "email": "", "is_staff": False, "is_active": True,
                           "date_joined": self._stamp(joined), "display_name": "", "bio": ""}, U)

        # follows: people follow popular creators more; "bench" follows exactly --bench-follows
        appeal = activity ** 0.8
        appeal = appeal / appeal.sum()
        counts = np.clip(rng.lognormal(math.log(o["follows"]) - 0.5, 1.0, U), 0, U - 1).astype(int)
        counts[0] = o["bench_follows"]
        follower_idx, followee_idx = [], []
        for u in range(U):
            k = int(counts[u])
            if k:
                chosen = rng.choice(U, size=min(k + 1, U), replace=False, p=appeal)
                chosen = chosen[chosen != u][:k]
                follower_idx.append(np.full(len(chosen), u))
                followee_idx.append(chosen)
        follower_idx, followee_idx = np.concatenate(follower_idx), np.concatenate(followee_idx)
        nf = len(follower_idx)
        self._write(Follow, {"id": np.arange(nf) + self._next_id(Follow), "follower_id": user_ids[follower_idx],
                             "followee_id": user_ids[followee_idx],
                             "created_at": self._stamp(np.maximum(joined[follower_idx], joined[followee_idx]) + 3600)}, nf)

        videos = self._videos(V, user_ids, activity, favourite)
        self._engagement(videos, user_ids, activity, favourite, L, views, comments)
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), [User, Follow, Video, Like, VideoView, Comment]):
                cursor.execute(sql)
            if connection.vendor == "postgresql":
                cursor.execute("ANALYZE")
        self.summary = (f"{U:,} users, {nf:,} follows, {V:,} videos ({int(videos['is_remix'].sum()):,} remixes, "
                        f"deepest chain {int(videos['depth'].max())}), {self.counts}")

    def _media(self) -> dict[tuple[str, str, str], tuple[str, str]]:
        """168 placeholder clips, one per (colour, shape, background), rendered once by the Flatland
        world (a bouncing shape) and stored under seed/: the feed looks like its prompts."""
        from generation.dit import world
        from generation.dit.video_io import mp4_bytes
        from PIL import Image

        keys = [(c, s, b) for c in attributes.COLOURS for s in attributes.SHAPES for b in attributes.COLOURS if b != c]
        todo = [k for k in keys if not default_storage.exists(f"seed/{k[0]}-{k[1]}-on-{k[2]}.mp4")]
        specs = []
        for colour, shape, background in todo:
            subject = world.ObjectSpec(colour, shape, "big", "falling")
            subject.track = world.make_track(random.Random(7), "falling", "big")
            specs.append(world.ClipSpec("single", background, [subject]))
        clips = world.render(specs).numpy() if specs else []
        for (colour, shape, background), frames in zip(todo, clips):
            name = f"seed/{colour}-{shape}-on-{background}"
            png = io.BytesIO()
            Image.fromarray(frames[world.FRAMES // 2]).save(png, format="PNG")
            default_storage.save(f"{name}.mp4", ContentFile(mp4_bytes(frames, fps=world.FPS)))
            default_storage.save(f"{name}.png", ContentFile(png.getvalue()))
        return {k: (f"seed/{k[0]}-{k[1]}-on-{k[2]}.mp4", f"seed/{k[0]}-{k[1]}-on-{k[2]}.png") for k in keys}

    def _videos(self, V: int, user_ids, activity, favourite) -> dict:
        o, rng = self.o, self.rng
        U = len(user_ids)
        owner = rng.choice(U, size=V, p=activity / activity.sum())
        age_h = np.minimum(rng.exponential(24 * o["days"] / 4, V), 24 * o["days"])
        published = np.sort(self.now_s - age_h * 3600)  # index order = time order: parents come first
        status = rng.choice(["published", "removed", "draft"], size=V, p=[0.95, 0.03, 0.02])
        visibility = rng.choice(["public", "followers", "private"], size=V, p=[0.88, 0.08, 0.04])
        held = rng.random(V) < 0.005
        appeal = rng.lognormal(0, 1.3, V)
        ids = np.arange(V) + self._next_id(Video)
        # the subject: creators lean to their favourite colour
        colour = np.where(rng.random(V) < 0.5, favourite[owner], rng.integers(0, 8, V))
        shape, size = rng.integers(0, 3, V), rng.integers(0, 2, V)
        motion, background = rng.integers(0, 6, V), rng.integers(0, 8, V)
        background = np.where(background == colour, (background + 1) % 8, background)
        kind = rng.choice(3, size=V, p=[0.8, 0.1, 0.1])  # single, pair, wall
        is_remix = (rng.random(V) < o["remix_share"]) & (np.arange(V) > 10)
        parent = np.full(V, -1)
        paths, depth = [""] * V, np.zeros(V, dtype=int)
        picks = (rng.random((V, 6)) * np.arange(V)[:, None]).astype(int)  # 6 earlier videos, the most appealing wins
        for i in np.flatnonzero(is_remix):
            j = int(picks[i][np.argmax(appeal[picks[i]])])
            if status[j] != "published" or depth[j] >= 149:
                is_remix[i] = False
                continue
            parent[i], depth[i], paths[i] = j, depth[j] + 1, f"{paths[j]}{ids[j]}/"
            appeal[j] *= 1.15  # remixed videos draw more remixes (and chains grow)
            # a remix changes one thing of its parent
            colour[i], shape[i], size[i], background[i], kind[i] = colour[j], shape[j], size[j], background[j], kind[j]
            change = rng.integers(0, 3)
            if change == 0:
                colour[i] = (colour[j] + 1 + rng.integers(0, 6)) % 8
                if colour[i] == background[i]:
                    colour[i] = (colour[i] + 1) % 8
            elif change == 1:
                motion[i] = rng.integers(0, 6)
            else:
                shape[i] = (shape[j] + 1) % 3
        words = random.Random(o["seed"])
        drawn = [seed_prompt(words, int(colour[i]), int(shape[i]), int(size[i]), int(motion[i]), int(background[i]),
                             int(kind[i])) for i in range(V)]
        prompts = [prompt for prompt, _ in drawn]
        tags = np.array([attributes.mask_of(names) for _, names in drawn], dtype=np.int64)
        media = self._media()
        C = attributes.COLOURS
        files = [media[(C[colour[i]], attributes.SHAPES[shape[i]], C[background[i]])] for i in range(V)]
        created = published - rng.uniform(30, 600, V)
        is_published = status != "draft"
        self.log(f"videos drawn ({len(set(prompts)):,} distinct prompts)")
        return {"ids": ids, "owner": owner, "published": published, "created": created, "status": status,
                "visibility": visibility, "held": held, "appeal": appeal, "parent": parent, "paths": paths,
                "depth": depth, "is_remix": is_remix, "prompts": prompts, "tags": tags, "files": files,
                "colour": colour, "is_published": is_published, "user_ids": user_ids}

    def _pairs(self, n: int, videos: dict, activity, favourite, *, taste: float, allowed: np.ndarray):
        """n distinct (person, video) pairs: active people, appealing and recent videos, and a
        `taste` share of each person's picks among videos of their favourite colour."""
        rng = self.rng
        U = len(activity)
        if n == 0 or not allowed.any():
            return np.zeros(0, int), np.zeros(0, int)
        pool = np.flatnonzero(allowed)
        weight = videos["appeal"][pool] * np.exp(-(self.now_s - videos["published"][pool]) / (86400 * 20))
        groups = [(pool[videos["colour"][pool] == c], weight[videos["colour"][pool] == c]) for c in range(8)]
        n = min(n, U * len(pool) // 2)  # a small site cannot hold more distinct pairs than this
        key = np.zeros(0, dtype=np.int64)
        for _ in range(20):  # popular pairs repeat: draw again until n distinct ones are found
            want = int((n - len(key)) * 1.3) + 10
            people = rng.choice(U, size=want, p=activity / activity.sum())
            picks = rng.choice(pool, size=want, p=weight / weight.sum())
            by_taste = rng.random(want) < taste
            for c, (members, w) in enumerate(groups):
                sel = by_taste & (favourite[people] == c)
                if sel.any() and len(members):
                    picks[sel] = rng.choice(members, size=int(sel.sum()), p=w / w.sum())
            key = np.unique(np.concatenate([key, people.astype(np.int64) * len(videos["ids"]) + picks]))
            if len(key) >= n:
                break
        key = key[rng.permutation(len(key))[:n]]
        return (key // len(videos["ids"])).astype(int), (key % len(videos["ids"])).astype(int)

    def _engagement(self, videos: dict, user_ids, activity, favourite, L: int, n_views: int, n_comments: int) -> None:
        rng, V = self.rng, len(videos["ids"])
        published_ok = (videos["status"] == "published") & ~videos["held"] & (videos["visibility"] != "private")
        like_u, like_v = self._pairs(L, videos, activity, favourite, taste=0.6, allowed=published_ok)
        after = lambda v, scale: np.minimum(videos["published"][v] + rng.exponential(scale, len(v)), self.now_s - 1)  # noqa: E731
        like_t = after(like_v, 3600 * 12)
        view_u, view_v = self._pairs(max(0, n_views - len(like_u)), videos, activity, favourite, taste=0.3, allowed=published_ok)
        key_likes = like_u.astype(np.int64) * V + like_v
        extra = ~np.isin(view_u.astype(np.int64) * V + view_v, key_likes)
        view_u, view_v = np.concatenate([like_u, view_u[extra]]), np.concatenate([like_v, view_v[extra]])
        watch = np.concatenate([rng.uniform(2.0, 6.0, len(like_u)), rng.uniform(0.2, 2.4, int(extra.sum()))])
        view_t = np.concatenate([like_t - 5, after(view_v[len(like_u):], 3600 * 24)])
        com_u, com_v = self._pairs(n_comments, videos, activity, favourite, taste=0.6, allowed=published_ok)
        com_t = after(com_v, 3600 * 18)

        ids, owner_ids = videos["ids"], user_ids[videos["owner"]]
        likes = np.bincount(like_v, minlength=V)
        comments = np.bincount(com_v, minlength=V)
        view_count = np.bincount(view_v, minlength=V)
        watch_sum = np.bincount(view_v, weights=watch, minlength=V)
        posted_remix = videos["is_remix"] & (videos["status"] == "published")
        remixes = np.bincount(videos["parent"][posted_remix], minlength=V) if posted_remix.any() else np.zeros(V, int)
        keys: list = [None] * V
        is_published = videos["status"] != "draft"
        for i in np.flatnonzero(is_published & (likes + comments + remixes > 0)):
            keys[i] = trending.trending_key(likes=int(likes[i]), comments=int(comments[i]), remixes=int(remixes[i]),
                                            published_at=_utc(videos["published"][i]))
        pub_text = self._stamp(videos["published"])
        self._write(Video, {
            "id": ids, "owner_id": owner_ids, "prompt": videos["prompts"], "caption": "",
            "file": [f for f, _ in videos["files"]], "poster": [p for _, p in videos["files"]],
            "width": 64, "height": 64, "frame_count": 16, "fps": 8, "duration_s": 2.0,
            "seed": ids * 7919 % 1_000_003, "model_version": "seed (placeholder media)",
            "visibility": videos["visibility"], "status": videos["status"],
            "parent_id": [int(ids[p]) if p >= 0 else None for p in videos["parent"]],
            "lineage_path": videos["paths"], "depth": videos["depth"],
            "remix_mode": np.where(videos["is_remix"], "remix", ""), "allow_remix": True,
            "consent_hold": videos["held"], "created_at": self._stamp(videos["created"]),
            "published_at": [t if ok else None for t, ok in zip(pub_text, is_published)],
            "tags": videos["tags"], "stats_likes": likes, "stats_comments": comments, "stats_remixes": remixes,
            "stats_views": view_count, "stats_watch_seconds": np.round(watch_sum, 2), "trending_score": keys,
        }, V)
        self._write(Like, {"id": np.arange(len(like_u)) + self._next_id(Like), "user_id": user_ids[like_u],
                           "video_id": ids[like_v], "created_at": self._stamp(like_t)}, len(like_u))
        stamps = self._stamp(view_t)
        self._write(VideoView, {"id": np.arange(len(view_u)) + self._next_id(VideoView), "user_id": user_ids[view_u],
                                "video_id": ids[view_v], "view_count": 1, "watch_seconds": np.round(watch, 2),
                                "completed": watch >= 1.8, "first_viewed_at": stamps, "last_viewed_at": stamps},
                    len(view_u))
        bodies = np.array(COMMENTS, dtype=object)[rng.integers(0, len(COMMENTS), len(com_u))]
        self._write(Comment, {"id": np.arange(len(com_u)) + self._next_id(Comment), "author_id": user_ids[com_u],
                              "video_id": ids[com_v], "body": bodies, "created_at": self._stamp(com_t)}, len(com_u))
        self.counts = f"{len(like_u):,} likes, {len(view_u):,} views, {len(com_u):,} comments"


def _utc(seconds: float):
    from datetime import datetime, timezone as dt_timezone

    return datetime.fromtimestamp(float(seconds), tz=dt_timezone.utc)
