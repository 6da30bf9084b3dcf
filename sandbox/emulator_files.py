"""Files the bot uploaded: kept in memory under Telegram-like file ids, paths and sizes.

Telegram recompresses photos and offers several sizes; the sandbox keeps the original bytes as
the one and only size, so a test can compare what it sent with what the user downloads.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import struct
from dataclasses import dataclass

PHOTO_MAX_BYTES = 10 * 1024 * 1024  # Bot API: photos up to 10 MB


@dataclass(frozen=True)
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    mime_type: str
    width: int
    height: int

    def photo_size(self) -> dict:
        return {"file_id": self.file_id, "file_unique_id": self.file_unique_id,
                "file_size": len(self.content), "width": self.width, "height": self.height}

    def file(self) -> dict:  # the Bot API File object of getFile
        return {"file_id": self.file_id, "file_unique_id": self.file_unique_id,
                "file_size": len(self.content), "file_path": self.file_path}


def image_size(content: bytes) -> tuple[int, int, str] | None:
    """(width, height, mime type) from a PNG, JPEG, GIF or WebP header, or None."""
    if content.startswith(b"\x89PNG\r\n\x1a\n") and content[12:16] == b"IHDR":
        width, height = struct.unpack(">II", content[16:24])
        return width, height, "image/png"
    if content[:6] in (b"GIF87a", b"GIF89a"):
        width, height = struct.unpack("<HH", content[6:10])
        return width, height, "image/gif"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return _webp_size(content)
    if content.startswith(b"\xff\xd8"):
        return _jpeg_size(content)
    return None


def _jpeg_size(content: bytes) -> tuple[int, int, str] | None:
    position = 2
    while position + 9 < len(content):
        if content[position] != 0xFF:
            return None
        marker = content[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        (length,) = struct.unpack(">H", content[position + 2 : position + 4])
        # SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) do not.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", content[position + 5 : position + 9])
            return width, height, "image/jpeg"
        position += 2 + length
    return None


def _webp_size(content: bytes) -> tuple[int, int, str] | None:
    chunk = content[12:16]
    if chunk == b"VP8X" and len(content) >= 30:
        width = 1 + int.from_bytes(content[24:27], "little")
        height = 1 + int.from_bytes(content[27:30], "little")
    elif chunk == b"VP8 " and len(content) >= 30:
        width, height = (value & 0x3FFF for value in struct.unpack("<HH", content[26:30]))
    elif chunk == b"VP8L" and len(content) >= 25:
        bits = int.from_bytes(content[21:25], "little")
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    else:
        return None
    return width, height, "image/webp"


class PhotoRejected(ValueError):
    """Telegram's reason, e.g. IMAGE_PROCESS_FAILED."""


class FileStore:
    def __init__(self) -> None:
        self._by_id: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}
        self._numbers = itertools.count(1)

    def add_photo(self, content: bytes) -> StoredFile:
        if len(content) > PHOTO_MAX_BYTES:
            raise PhotoRejected("file is too big")
        size = image_size(content)
        if size is None:
            raise PhotoRejected("IMAGE_PROCESS_FAILED")
        width, height, mime_type = size
        if not width or not height or width + height > 10000 or max(width, height) > 20 * min(width, height):
            raise PhotoRejected("PHOTO_INVALID_DIMENSIONS")
        number = next(self._numbers)
        digest = hashlib.sha256(content).digest()
        # Telegram's photo file ids start "AgAC" and unique ids "AQAD"; both are opaque strings.
        file_id = "AgACAgIAAxkBAAI" + base64.urlsafe_b64encode(
            number.to_bytes(6, "big") + digest[:30]).decode().rstrip("=")
        unique_id = "AQAD" + base64.urlsafe_b64encode(digest[:9]).decode()
        extension = mime_type.split("/")[1].replace("jpeg", "jpg")
        stored = StoredFile(file_id, unique_id, f"photos/file_{number}.{extension}", content, mime_type,
                            width, height)
        self._by_id[file_id] = stored
        self._by_path[stored.file_path] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        return self._by_id.get(file_id)

    def by_path(self, file_path: str) -> StoredFile | None:
        return self._by_path.get(file_path)
