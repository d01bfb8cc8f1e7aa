"""Pictures to measure the likeness check on: procedural ones (shapes, gradients, textures, drawn
faces) made from a seed, crops of the real photos that ship inside installed packages, and the
edits someone would make to pass another person's picture off as new (resize, recompress, crop).

Near-lookalikes share a picture's colours (background, skin, hair, palette, the same photo) but
not its layout or features, so the impostor pairs include pictures that are alike on purpose.
"""
from __future__ import annotations

import io
import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

KINDS = ("shapes", "gradient", "texture", "face", "photo")


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return tuple(rng.randint(0, 255) for _ in range(3))


def _shapes(rng: random.Random, size: int) -> Image.Image:
    img = Image.new("RGB", (size, size), _colour(rng))
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randint(2, 5)):
        kind = rng.choice(("ellipse", "rectangle", "polygon"))
        x, y = rng.uniform(0, 0.8) * size, rng.uniform(0, 0.8) * size
        w, h = rng.uniform(0.1, 0.5) * size, rng.uniform(0.1, 0.5) * size
        fill = _colour(rng)
        if kind == "polygon":
            pts = [(x + rng.uniform(0, w), y + rng.uniform(0, h)) for _ in range(rng.randint(3, 6))]
            draw.polygon(pts, fill=fill)
        else:
            getattr(draw, kind)([x, y, x + w, y + h], fill=fill)
    return img


def _gradient(rng: random.Random, size: int) -> Image.Image:
    yy, xx = np.mgrid[0:size, 0:size] / size
    a, b, c = (np.array(_colour(rng), np.float32) for _ in range(3))
    if rng.random() < 0.5:
        angle = rng.uniform(0, 2 * np.pi)
        t = (np.cos(angle) * xx + np.sin(angle) * yy)
        t = (t - t.min()) / (np.ptp(t) + 1e-6)
    else:
        cx, cy = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8)
        t = np.clip(np.hypot(xx - cx, yy - cy) / 0.8, 0, 1)
    t = t[..., None]
    rgb = np.where(t < 0.5, a + (b - a) * (t * 2), b + (c - b) * (t * 2 - 1))
    return Image.fromarray(rgb.clip(0, 255).astype(np.uint8))


def _texture(rng: random.Random, size: int) -> Image.Image:
    yy, xx = np.mgrid[0:size, 0:size] / size
    a, b = np.array(_colour(rng), np.float32), np.array(_colour(rng), np.float32)
    kind = rng.choice(("stripes", "checks", "noise", "waves"))
    f = rng.uniform(3, 12)
    if kind == "stripes":
        angle = rng.uniform(0, np.pi)
        t = (np.sin((np.cos(angle) * xx + np.sin(angle) * yy) * f * 2 * np.pi) > 0).astype(np.float32)
    elif kind == "checks":
        t = ((np.floor(xx * f) + np.floor(yy * f)) % 2).astype(np.float32)
    elif kind == "waves":
        t = 0.5 + 0.25 * np.sin(xx * f * 6.3 + rng.uniform(0, 6)) + 0.25 * np.sin(yy * f * 4.1)
    else:
        noise = np.random.default_rng(int(rng.uniform(0, 2**31))).random((size // 8, size // 8))
        t = np.asarray(Image.fromarray((noise * 255).astype(np.uint8)).resize((size, size), Image.BICUBIC)) / 255.0
    t = t[..., None]
    return Image.fromarray((a + (b - a) * t).clip(0, 255).astype(np.uint8))


SKIN = [(255, 224, 189), (241, 194, 125), (224, 172, 105), (198, 134, 66), (141, 85, 36), (94, 54, 30)]


def _face(rng: random.Random, size: int) -> Image.Image:
    """A drawn portrait: head, hair, eyes, brows, nose, mouth; every part's place and colour drawn
    from the seed, so two faces differ the way two people's pictures differ (and lookalikes little)."""
    img = Image.new("RGB", (size, size), _colour(rng))
    d = ImageDraw.Draw(img)
    s = size
    cx, cy = s * rng.uniform(0.42, 0.58), s * rng.uniform(0.45, 0.58)
    hw, hh = s * rng.uniform(0.22, 0.32), s * rng.uniform(0.28, 0.38)
    skin, hair = rng.choice(SKIN), _colour(rng)
    d.rectangle([cx - hw * 0.8, cy + hh * 0.7, cx + hw * 0.8, s], fill=_colour(rng))  # shoulders
    d.ellipse([cx - hw * 1.1, cy - hh * 1.15, cx + hw * 1.1, cy + hh * 0.2], fill=hair)
    d.ellipse([cx - hw, cy - hh, cx + hw, cy + hh], fill=skin)
    eye_y = cy - hh * rng.uniform(0.1, 0.3)
    eye_dx = hw * rng.uniform(0.35, 0.55)
    eye_r = s * rng.uniform(0.02, 0.045)
    iris = _colour(rng)
    for side in (-1, 1):
        ex = cx + side * eye_dx
        d.ellipse([ex - eye_r * 1.8, eye_y - eye_r, ex + eye_r * 1.8, eye_y + eye_r], fill=(250, 250, 250))
        d.ellipse([ex - eye_r, eye_y - eye_r, ex + eye_r, eye_y + eye_r], fill=iris)
        d.line([ex - eye_r * 2, eye_y - eye_r * 2.5, ex + eye_r * 2, eye_y - eye_r * 2.2], fill=hair, width=max(1, s // 60))
    d.polygon([(cx, eye_y + hh * 0.1), (cx - hw * 0.12, cy + hh * 0.3), (cx + hw * 0.12, cy + hh * 0.3)],
              fill=tuple(max(0, c - 40) for c in skin))
    mw, my = hw * rng.uniform(0.3, 0.6), cy + hh * rng.uniform(0.5, 0.65)
    d.arc([cx - mw, my - hh * 0.15, cx + mw, my + hh * 0.15], 0, 180, fill=(150, 40, 50), width=max(2, s // 50))
    return img.filter(ImageFilter.GaussianBlur(radius=s / 400))


def photo_files() -> list[Path]:
    """Real photos that ship inside installed packages (matplotlib, scikit-learn)."""
    found = []
    for module, rel in (("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"),
                        ("sklearn", "datasets/images/china.jpg"), ("sklearn", "datasets/images/flower.jpg")):
        try:
            base = Path(__import__(module).__file__).parent
        except ImportError:
            continue
        if (base / rel).exists():
            found.append(base / rel)
    return found


_PHOTOS: list[Image.Image] = []


def _photo(rng: random.Random, size: int) -> Image.Image:
    """A crop of a real photo: a random region (a quarter to two thirds of it) at a random place."""
    if not _PHOTOS:
        _PHOTOS.extend(Image.open(p).convert("RGB") for p in photo_files())
    if not _PHOTOS:
        return _face(rng, size)
    photo = rng.choice(_PHOTOS)
    w, h = photo.size
    side = int(min(w, h) * rng.uniform(0.25, 0.65))
    x = int(rng.uniform(0, w - side))
    y = int(rng.uniform(0, h - side))
    return photo.crop((x, y, x + side, y + side)).resize((size, size), Image.LANCZOS)


MAKERS = {"shapes": _shapes, "gradient": _gradient, "texture": _texture, "face": _face, "photo": _photo}


def picture(kind: str, seed: int, *, size: int = 256, lookalike: int = 0) -> Image.Image:
    """The picture `seed` of `kind`. `lookalike` > 0 gives another picture that shares its look
    (the same colours: background, skin, hair, palette) but not its layout or features: a
    different subject that resembles it, as two people's pictures can."""
    return MAKERS[kind](_LookalikeRandom(f"{kind}-{seed}", lookalike), size)


class _LookalikeRandom(random.Random):
    """Colours come from the picture's seed; positions and sizes from the seed and `lookalike`."""

    def __init__(self, seed: str, lookalike: int):
        super().__init__(seed)
        self.colours = random.Random(seed + "-colours")
        self.geometry = random.Random(f"{seed}-geometry-{lookalike}")

    def randint(self, a, b):  # colour channels and counts
        return self.colours.randint(a, b)

    def choice(self, seq):
        return self.colours.choice(seq)

    def uniform(self, a, b):  # places, sizes, angles, frequencies
        return self.geometry.uniform(a, b)

    def random(self):
        return self.geometry.random()


def encode(img: Image.Image, fmt: str = "PNG", **params) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **params)
    return buf.getvalue()


def _crop(img: Image.Image, left: float, top: float, right: float, bottom: float) -> Image.Image:
    w, h = img.size
    return img.crop((int(w * left), int(h * top), w - int(w * right), h - int(h * bottom)))


def variants(img: Image.Image, rng: random.Random) -> dict[str, Image.Image]:
    """What a copier does to someone's picture: smaller, recompressed, slightly cropped, and all
    of them at once. Each is decoded back to a picture (the upload a copier would make)."""
    def jpeg(im, q):
        return Image.open(io.BytesIO(encode(im, "JPEG", quality=q))).convert("RGB")

    def webp(im, q):
        return Image.open(io.BytesIO(encode(im, "WEBP", quality=q))).convert("RGB")

    w, h = img.size
    c = rng.uniform(0.03, 0.08)
    return {
        "resize-50": img.resize((w // 2, h // 2), Image.BILINEAR),
        "resize-30": img.resize((int(w * 0.3), int(h * 0.3)), Image.LANCZOS),
        "upscale-150": img.resize((int(w * 1.5), int(h * 1.5)), Image.BICUBIC),
        "jpeg-30": jpeg(img, 30),
        "jpeg-70": jpeg(img, 70),
        "webp-50": webp(img, 50),
        "crop-all-5": _crop(img, 0.05, 0.05, 0.05, 0.05),
        "crop-side": _crop(img, c, 0, 0, c),
        "crop-8-resize-jpeg": jpeg(_crop(img, 0.08, 0.02, 0.0, 0.06).resize((int(w * 0.6), int(h * 0.6))), 50),
    }
