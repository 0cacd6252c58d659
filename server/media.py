"""Cleaning what is uploaded: images are re-encoded without their metadata (EXIF, GPS, XMP)
and get a thumbnail; PDF files are kept as they came.

Re-encoding draws the pixels into a new file, so nothing but the picture survives; the
EXIF orientation is applied first so the photo still stands the right way up.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from hierarchy.errors import InvalidInput

THUMBNAIL_PX = 320
#: Larger than any phone camera; a "photo" beyond it is a decompression bomb.
MAX_PIXELS = 80_000_000
_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


def _open(data: bytes) -> Image.Image:
    refused = InvalidInput("attachment.image_invalid", "the image cannot be read", field="file")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_PIXELS:
                raise refused
            image.load()
        except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning, OSError,
                SyntaxError, ValueError):  # fmt: skip
            raise refused from None
    return image


def clean(data: bytes, media_type: str) -> tuple[bytes, bytes | None]:
    """The bytes to store and a JPEG thumbnail (None for PDF)."""
    fmt = _FORMATS.get(media_type)
    if fmt is None:
        return data, None
    image = ImageOps.exif_transpose(_open(data))
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    out = io.BytesIO()
    # No exif=, no icc/xmp/pnginfo: the new file carries the pixels only.
    if fmt == "JPEG":
        image.save(out, "JPEG", quality=90, optimize=True)
    elif fmt == "PNG":
        image.save(out, "PNG", optimize=False)
    else:
        image.save(out, "WEBP", quality=90)
    thumb = image.copy()
    thumb.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
    if thumb.mode not in ("RGB", "L"):
        thumb = thumb.convert("RGB")
    small = io.BytesIO()
    thumb.save(small, "JPEG", quality=80)
    return out.getvalue(), small.getvalue()
