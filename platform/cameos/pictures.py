"""Reading an uploaded cameo picture safely, Django-free (Pillow).

Only PNG, JPEG and WebP are accepted, recognised by their content (never the file name); the size
in bytes and the pixel count (read from the header, before anything is decoded) are capped, so a
decompression bomb is refused without being expanded; the file is checked with Pillow's verify();
the picture is turned upright from its EXIF orientation, flattened to RGB and re-encoded as PNG,
so EXIF and every other piece of metadata (GPS position, camera serial) is left behind.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 24_000_000  # a 6000x4000 photo; Pillow's own bomb limit (MAX_IMAGE_PIXELS) is far above
MIN_SIDE = 64
MAX_STORED_SIDE = 1024  # stored pictures are scaled down to this (the model uses a few dozen pixels)
FORMATS = ("PNG", "JPEG", "WEBP")


class PictureError(ValueError):
    """The upload cannot be a cameo picture; the message says why, for the person uploading."""


@dataclass
class Picture:
    image: Image.Image  # RGB, upright, at most MAX_STORED_SIDE on its longer side
    png: bytes


def picture_read(data: bytes) -> Picture:
    if len(data) > MAX_BYTES:
        raise PictureError(f"The picture is too large: at most {MAX_BYTES // 2**20} MB (got {len(data) / 2**20:.1f} MB).")
    if not data:
        raise PictureError("The file is empty.")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)  # a warning is a refusal here
        try:
            probe = Image.open(io.BytesIO(data), formats=FORMATS)
        except UnidentifiedImageError:
            raise PictureError("Upload a PNG, JPEG or WebP picture (this file is none of them).") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PictureError(f"The picture has too many pixels: at most {MAX_PIXELS:,}.") from None
        width, height = probe.size
        if width * height > MAX_PIXELS:
            raise PictureError(f"The picture has too many pixels: at most {MAX_PIXELS:,} (got {width}x{height}).")
        if min(width, height) < MIN_SIDE:
            raise PictureError(f"The picture is too small: at least {MIN_SIDE} pixels on each side (got {width}x{height}).")
        try:
            probe.verify()
            img = Image.open(io.BytesIO(data), formats=FORMATS)
            img.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PictureError(f"The picture has too many pixels: at most {MAX_PIXELS:,}.") from None
        except Exception as exc:  # truncated or corrupt data: Pillow raises many kinds
            raise PictureError(f"The picture could not be read: the file is damaged ({type(exc).__name__}).") from None
    img = ImageOps.exif_transpose(img)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        img = flat
    else:
        img = img.convert("RGB")
    if max(img.size) > MAX_STORED_SIDE:
        img.thumbnail((MAX_STORED_SIDE, MAX_STORED_SIDE), Image.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return Picture(image=img, png=buf.getvalue())
