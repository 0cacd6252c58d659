"""Where attachment bytes live: one small interface, a folder or S3-compatible storage.

The embedded default is a folder next to the SQLite file (``attachments/``); production
names a bucket (``DAIBAN_ATTACHMENTS=s3://bucket/prefix``) on any S3-compatible service.
Both go through obstore, so the code above this module never knows which it has.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import obstore
from obstore.exceptions import NotFoundError
from obstore.store import LocalStore, S3Store

from server.settings import Settings

if TYPE_CHECKING:
    from obstore.store import ObjectStore


class BlobStore(Protocol):
    """Objects by key (``files/<sha256>``, ``parts/<upload>/…``)."""

    async def put(self, key: str, data: bytes) -> None: ...

    async def get(self, key: str) -> bytes:
        """The object's bytes; raises KeyError when there is none."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None:
        """Remove the object; a missing one is not an error."""
        ...

    async def keys(self, prefix: str) -> list[str]: ...

    def writer(self, key: str) -> Writer:
        """Write an object piece by piece (it exists once closed)."""
        ...

    async def rename(self, source: str, target: str) -> None:
        """Move an object (a rename on a folder, a server-side copy on S3)."""
        ...


class Writer(Protocol):
    async def write(self, data: bytes, /) -> int: ...

    async def close(self) -> None: ...


class ObjectStorage:
    """A :class:`BlobStore` over any obstore store (local folder, S3, …)."""

    def __init__(self, store: ObjectStore, where: str) -> None:
        self.store = store
        self.where = where

    def __repr__(self) -> str:
        return f"ObjectStorage({self.where})"

    async def put(self, key: str, data: bytes) -> None:
        await obstore.put_async(self.store, key, data)

    async def get(self, key: str) -> bytes:
        try:
            result = await obstore.get_async(self.store, key)
            return bytes(await result.bytes_async())
        except (NotFoundError, FileNotFoundError):
            raise KeyError(key) from None

    async def exists(self, key: str) -> bool:
        try:
            await obstore.head_async(self.store, key)
        except (NotFoundError, FileNotFoundError):
            return False
        return True

    async def delete(self, key: str) -> None:
        with contextlib.suppress(NotFoundError, FileNotFoundError):
            await obstore.delete_async(self.store, key)

    async def keys(self, prefix: str) -> list[str]:
        out: list[str] = []
        async for chunk in obstore.list(self.store, prefix):
            out.extend(str(meta["path"]) for meta in chunk)
        return sorted(out)

    def writer(self, key: str) -> Writer:
        # Multipart in parts of 8 MiB on S3 (its minimum is 5 MiB).
        return obstore.open_writer_async(self.store, key, buffer_size=8 * 1024 * 1024)

    async def rename(self, source: str, target: str) -> None:
        await obstore.rename_async(self.store, source, target)


def folder_store(path: str | Path) -> ObjectStorage:
    folder = Path(path).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return ObjectStorage(LocalStore(folder, mkdir=True, automatic_cleanup=True), str(folder))


def s3_store(
    url: str,
    *,
    endpoint: str | None = None,
    region: str | None = None,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
) -> ObjectStorage:
    """``s3://bucket/prefix``; what is not given comes from the usual AWS_* environment."""
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    options: dict[str, str] = {}
    if endpoint:
        options["endpoint"] = endpoint
    if region:
        options["region"] = region
    if access_key_id and secret_access_key:
        options["access_key_id"] = access_key_id
        options["secret_access_key"] = secret_access_key
    client = {"allow_http": True} if endpoint and endpoint.startswith("http://") else None
    store = S3Store(bucket, prefix=prefix or None, client_options=client, **options)  # type: ignore[arg-type]
    return ObjectStorage(store, url)


def default_folder(settings: Settings) -> Path:
    """``attachments/`` beside the SQLite file (``var/attachments`` with PostgreSQL)."""
    base = Path("var") if settings.is_postgres else Path(settings.sqlite_path).parent
    return base / "attachments"


def open_store(settings: Settings) -> ObjectStorage:
    target = settings.attachments_url
    if target.startswith("s3://"):
        return s3_store(
            target,
            endpoint=settings.s3_endpoint,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
        )
    return folder_store(target.removeprefix("file://") or default_folder(settings))
