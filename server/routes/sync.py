"""Devices and offline sync: push and pull, in JSON or MessagePack."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody, PathParameter, QueryParameter

from hierarchy.errors import InvalidInput
from server import sync
from server.auth import Principal
from server.deps import EngineDep, NowDep, SettingsDep
from server.observe import pulled, pushed
from server.params import INT64_MAX
from sync.protocol import (
    MSGPACK,
    BucketPage,
    BucketSums,
    DeviceCreate,
    DeviceOut,
    PullResponse,
    PushRequest,
    PushResponse,
)

Req = Request[Principal, Any, Any]
_push_json = msgspec.json.Decoder(PushRequest)
_push_msgpack = msgspec.msgpack.Decoder(PushRequest)


def _reply(request: Req, body: Any) -> Response[Any]:
    """MessagePack when the device asks for it, JSON otherwise."""
    if MSGPACK in request.headers.get("accept", "") or request.headers.get("content-type", "").startswith(MSGPACK):
        return Response(msgspec.msgpack.encode(body), media_type=MSGPACK)
    return Response(body)


class DeviceController(Controller):
    path = "/api/v1/devices"
    tags = ["sync"]  # noqa: RUF012  (Litestar reads it as a class attribute)

    @post("/", operation_id="registerDevice", summary="Register a device for the signed-in agent")
    async def register(
        self, request: Req, now: NowDep, data: JSONBody[DeviceCreate | None] = None
    ) -> Response[DeviceOut]:
        device, created = await sync.register_device(request.user, data or DeviceCreate(), now)
        return Response(device, status_code=201 if created else 200)

    @post(
        "/{client_id:uuid}/revoke",
        operation_id="revokeDevice",
        status_code=200,
        summary="Revoke a device (admin, or the agent it belongs to)",
    )
    async def revoke(self, request: Req, client_id: FromPath[uuid.UUID]) -> DeviceOut:
        return await sync.revoke_device(request.user, client_id)


class SyncController(Controller):
    path = "/api/v1/sync"
    tags = ["sync"]  # noqa: RUF012  (Litestar reads it as a class attribute)

    @post(
        "/push",
        operation_id="syncPush",
        status_code=200,
        summary="Apply a batch of operations exactly once",
    )
    async def push(self, request: Req, engine: EngineDep, settings: SettingsDep, now: NowDep) -> Response[PushResponse]:
        raw = await request.body()
        try:
            if request.headers.get("content-type", "").startswith(MSGPACK):
                req = _push_msgpack.decode(raw)
            else:
                req = _push_json.decode(raw)
        except msgspec.DecodeError as exc:
            raise InvalidInput("sync.malformed", f"the push body is not a valid batch: {exc}") from None
        result = await sync.push(engine, request.user, req, now, settings.max_sync_batch)
        pushed(req.client_id, result)
        return _reply(request, result)

    @get("/pull", operation_id="syncPull", summary="Changes in the device's scope after the cursor, paged")
    async def pull(
        self,
        request: Req,
        settings: SettingsDep,
        now: NowDep,
        client_id: Annotated[uuid.UUID, QueryParameter()],
        cursor: Annotated[int, QueryParameter(ge=0, le=INT64_MAX)] = 0,
        limit: Annotated[int | None, QueryParameter(ge=1, le=1000)] = None,
        ack: Annotated[
            int | None,
            QueryParameter(ge=0, le=INT64_MAX, description="the eviction round of the last answer applied"),
        ] = None,
        full: Annotated[
            bool, QueryParameter(description="compare the whole scope on the last page and send its checksum")
        ] = False,
    ) -> Response[PullResponse]:
        page = await sync.pull(request.user, client_id, cursor, limit or settings.sync_page_size, now, ack, full)
        await pulled(cursor, page)
        return _reply(request, page)

    @get("/buckets", operation_id="syncBuckets", summary="The scope's checksum per bucket (divergence repair)")
    async def buckets(
        self, request: Req, now: NowDep, client_id: Annotated[uuid.UUID, QueryParameter()]
    ) -> Response[BucketSums]:
        return _reply(request, await sync.bucket_sums(request.user, client_id, now))

    @get("/buckets/{bucket:str}", operation_id="syncBucket", summary="Every case of the scope in one bucket")
    async def bucket(
        self,
        request: Req,
        now: NowDep,
        bucket: Annotated[str, PathParameter(max_length=2)],
        client_id: Annotated[uuid.UUID, QueryParameter()],
    ) -> Response[BucketPage]:
        return _reply(request, await sync.bucket_page(request.user, client_id, bucket, now))
