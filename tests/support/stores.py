"""Attachment stores for tests: a folder, and S3 on loopback (moto's server, a real S3 API).

Import the fixtures into a test module to run its tests on both stores::

    from stores import s3_endpoint, store_settings  # noqa: F401
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from live import free_port

from server.settings import Settings

S3_KEYS = {"aws_access_key_id": "daiban-test", "aws_secret_access_key": "daiban-test"}
REGION = "us-east-1"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server in this process, bound to 127.0.0.1 on a free port."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def with_store(settings: Settings, kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    if kind == "folder":
        return msgspec.structs.replace(settings, attachments_url=str(tmp_path / "attachments"))
    import boto3

    endpoint: str = request.getfixturevalue("s3_endpoint")
    bucket = f"daiban-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=endpoint, region_name=REGION, **S3_KEYS).create_bucket(Bucket=bucket)
    return msgspec.structs.replace(
        settings,
        attachments_url=f"s3://{bucket}/attachments",
        s3_endpoint=endpoint,
        s3_region=REGION,
        s3_access_key_id=S3_KEYS["aws_access_key_id"],
        s3_secret_access_key=S3_KEYS["aws_secret_access_key"],
    )


@pytest.fixture(params=["folder", "s3"])
def store_settings(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path) -> Settings:
    """``settings`` with each attachment store: the folder on both engines, S3 on SQLite (what
    the store does is the same whichever engine holds the rows)."""
    if request.param == "s3" and settings.is_postgres:
        pytest.skip("S3 runs with SQLite; the engines are compared on the folder store")
    return with_store(settings, request.param, tmp_path, request)
