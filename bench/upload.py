"""Upload throughput through the API against copying the same bytes into the store.

Serves the API (``daiban serve``, its own process) over a fresh SQLite file with the
default folder store, then, for several files of ``--mb`` megabytes (different bytes each,
so none is deduplicated):

- through the API: a tus creation and one PATCH with the whole file, until the server has
  verified its sha256, sniffed its type and stored it (the answer to the last PATCH);
- directly: as many bytes written into the same kind of store (obstore, a local folder),
  each round right after the upload, so both see the same load on a shared machine; in one
  put and streamed in 1 MiB pieces, and the faster of the two counts.

The last line is ``upload ratio: X`` = API throughput / direct throughput (medians); the
goal is at least 0.5.

    .venv/bin/python bench/upload.py [--mb 20] [--files 8]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, Python puts bench/ first on sys.path, where bench/hierarchy.py would
# hide the hierarchy package: put the project root there instead.
_HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == _HERE:
    sys.path[0] = str(_HERE.parent)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import base64  # noqa: E402
import hashlib  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import httpx  # noqa: E402

from server.storage import ObjectStorage, folder_store  # noqa: E402

DAIBAN = Path(sys.executable).parent / "daiban"


def pdf(size: int) -> bytes:
    head = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    return head + os.urandom(size - len(head) - 6) + b"%%EOF\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    env = {**os.environ, "DAIBAN_DATABASE_URL": f"sqlite:///{folder / 'daiban.sqlite'}", "DAIBAN_REDIS_URL": "",
           "DAIBAN_EMBEDDED_JOBS": "0", "DAIBAN_LOG_LEVEL": "warning"}  # fmt: skip
    for step in (["migrate"], ["seed"]):
        subprocess.run([str(DAIBAN), *step], env=env, check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen(
        [str(DAIBAN), "serve", "--no-migrate", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start")


async def put_whole(store: ObjectStorage, data: bytes) -> float:
    started = time.perf_counter()
    await store.put(f"files/{hashlib.sha256(data).hexdigest()}", data)  # named as the server names it
    return time.perf_counter() - started


async def put_streamed(store: ObjectStorage, data: bytes) -> float:
    started = time.perf_counter()
    writer = store.writer(f"files/{hashlib.sha256(data).hexdigest()}")
    for start in range(0, len(data), 1024 * 1024):
        await writer.write(data[start : start + 1024 * 1024])
    await writer.close()
    return time.perf_counter() - started


async def rounds(url: str, folder: Path, size: int, count: int) -> tuple[list[float], list[float]]:
    """Each round uploads one new file through the API and writes another into a store
    directly, one after the other, so both see the same load on a shared machine."""
    store = folder_store(folder)
    api: list[float] = []
    raw: list[float] = []
    async with httpx.AsyncClient(timeout=120) as http:
        token = await http.post(url + "/api/v1/auth/token", json={"username": "a640502100002", "password": "demo"})
        auth = {"Authorization": f"Bearer {token.json()['access_token']}", "Tus-Resumable": "1.0.0"}
        for _ in range(count):
            data = pdf(size)
            sha = hashlib.sha256(data).hexdigest()
            started = time.perf_counter()
            r = await http.post(url + "/api/v1/uploads", headers={
                **auth, "Upload-Length": str(len(data)),
                "Upload-Metadata": f"sha256 {base64.b64encode(sha.encode()).decode()}"})  # fmt: skip
            r = await http.patch(url + r.headers["location"], content=data, headers={
                **auth, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})  # fmt: skip
            api.append(time.perf_counter() - started)
            assert r.status_code == 204 and r.headers["upload-offset"] == str(len(data)), r.text
            raw.append(min(await put_whole(store, pdf(size)), await put_streamed(store, pdf(size))))
    return api, raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=20)
    parser.add_argument("--files", type=int, default=8)
    args = parser.parse_args()
    size = args.mb * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="daiban-bench-upload-") as tmp:
        root = Path(tmp)
        proc, url = start(root)
        try:
            api, raw = asyncio.run(rounds(url, root / "direct", size, args.files))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    mb = size / 1024 / 1024
    api_mbps, raw_mbps = mb / statistics.median(api), mb / statistics.median(raw)
    print(f"{args.files} files of {args.mb} MB")
    print(f"through the API (tus, sha256 verified, sniffed, stored): {api_mbps:8.1f} MB/s")
    print(f"directly into the store:                               {raw_mbps:8.1f} MB/s")
    print(f"upload ratio: {api_mbps / raw_mbps:.2f}")


if __name__ == "__main__":
    main()
