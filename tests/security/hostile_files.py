"""Hostile uploads, made on the spot (nothing downloaded): wrong types, a huge file, decompression
bombs, polyglots, a photo with GPS EXIF, SVG with script, truncated and empty files.

Each is a HostileFile; `HOSTILE_FILES` lists them and the `hostile_file` fixture in
tests/security/conftest.py runs a test once per file, so every upload endpoint found in the
OpenAPI schema (tests/security/endpoints.file_fields) gets all of them."""
import io
import struct
import zlib
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image

HTML_MARKER = b"<script>alert('pwned')</script>"
GPS_MARKER = b"GPSLatitude-spacetime"  # in the photo's EXIF; must not survive into stored media


@dataclass(frozen=True)
class HostileFile:
    name: str
    filename: str
    content_type: str
    make: object  # () -> bytes (built lazily: some are large)
    must_refuse: bool = True  # every endpoint must answer 4xx (not just "not 500")

    def __repr__(self) -> str:
        return self.name


def _png(size=(16, 16)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (50, 90, 220)).save(buf, format="PNG")
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


@lru_cache(maxsize=2)  # built once per test session, sent to every upload endpoint
def png_bomb(side: int) -> bytes:
    """A valid PNG of side x side black pixels (RGB): a few hundred KB that decode to side² x 3 bytes."""
    header = _chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0))
    comp = zlib.compressobj(9)
    row = b"\x00" * (1 + side * 3)
    parts = [comp.compress(row) for _ in range(side)]
    parts.append(comp.flush())
    return b"\x89PNG\r\n\x1a\n" + header + _chunk(b"IDAT", b"".join(parts)) + _chunk(b"IEND", b"")


def jpeg_with_gps() -> bytes:
    img = Image.new("RGB", (32, 32), (220, 50, 50))
    exif = Image.Exif()
    exif[0x010E] = GPS_MARKER.decode()  # ImageDescription, easy to find in the bytes
    gps = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}
    exif[0x8825] = gps
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif)
    return buf.getvalue()


def polyglot_png_html() -> bytes:
    """A real PNG that is also an HTML page (script after IEND)."""
    return _png() + b"<html><body>" + HTML_MARKER + b"</body></html>"


def polyglot_png_zip() -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("evil.html", HTML_MARKER)
    return _png() + buf.getvalue()


SVG_SCRIPT = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" '
              b'onload="alert(1)">' + HTML_MARKER + b"<rect width=\"10\" height=\"10\"/></svg>")

HUGE_BYTES = 70 * 2**20  # past every upload limit in the project (the largest, provenance, is 64 MiB)

HOSTILE_FILES = [
    HostileFile("text-as-png", "photo.png", "image/png", lambda: b"just some text, not an image\n" * 10),
    HostileFile("html-as-jpeg", "photo.jpg", "image/jpeg", lambda: b"<html>" + HTML_MARKER + b"</html>"),
    HostileFile("exe-as-mp4", "clip.mp4", "video/mp4", lambda: b"MZ\x90\x00" + b"\x00" * 4000),
    HostileFile("empty", "empty.png", "image/png", lambda: b""),
    HostileFile("truncated-png", "cut.png", "image/png", lambda: _png()[:40]),
    HostileFile("huge", "huge.png", "image/png", lambda: b"\x89PNG\r\n\x1a\n" + b"\x00" * HUGE_BYTES),
    HostileFile("png-bomb-400mpx", "bomb.png", "image/png", lambda: png_bomb(20_000)),
    HostileFile("png-bomb-100mpx", "bomb2.png", "image/png", lambda: png_bomb(10_000)),
    HostileFile("svg-with-script", "face.svg", "image/svg+xml", lambda: SVG_SCRIPT),
    HostileFile("svg-as-png", "face.png", "image/png", lambda: SVG_SCRIPT),
    HostileFile("polyglot-png-html", "poly.png", "image/png", polyglot_png_html, must_refuse=False),
    HostileFile("polyglot-png-zip", "poly2.png", "image/png", polyglot_png_zip, must_refuse=False),
    HostileFile("jpeg-with-gps-exif", "me.jpg", "image/jpeg", jpeg_with_gps, must_refuse=False),
]
