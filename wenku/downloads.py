"""Downloading a file someone sent (group upload, private file, 导入 URL) with httpx, bounded."""

from __future__ import annotations

import asyncio
import functools
import ssl

import httpx

from . import texts
from .errors import DownloadFailed

__all__ = ["DownloadFailed", "MAX_DOWNLOAD_BYTES", "DOWNLOAD_TIMEOUT", "download_client", "fetch_bytes"]

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
DOWNLOAD_TIMEOUT = 30.0


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Loading the CA certificates costs about 17 ms of CPU: done once, not for every
    # downloaded file (500 files dropped into a group made it the bot's biggest cost).
    return httpx.create_ssl_context()


def download_client() -> httpx.AsyncClient:
    """A client for one batch of downloads, sharing the process's TLS settings."""
    return httpx.AsyncClient(verify=_tls_context())


def _web_address(url: str) -> bool:
    """An http(s) address with a host and a possible port: anything else would crash the download, not fail it."""
    if not url.startswith(("http://", "https://")):
        return False
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return False
    return bool(parsed.host) and (parsed.port is None or 0 < parsed.port < 65536)


async def fetch_bytes(
    client: httpx.AsyncClient,
    url: str,
    name: str,
    *,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
    timeout: float = DOWNLOAD_TIMEOUT,
) -> bytes:
    """The body at ``url``; DownloadFailed (with a reason a person can act on) otherwise."""
    if not _web_address(url):
        raise DownloadFailed(name, texts.not_a_download_address())
    try:
        # httpx applies ``timeout`` to each read: a server trickling bytes would never time out.
        # The deadline bounds the whole download.
        async with asyncio.timeout(timeout), client.stream("GET", url, timeout=timeout, follow_redirects=True) as response:
            if response.status_code != 200:
                raise DownloadFailed(name, texts.download_refused_status(response.status_code))
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise DownloadFailed(name, texts.file_too_large(max_bytes // (1024 * 1024)))
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data.extend(chunk)
                if len(data) > max_bytes:
                    raise DownloadFailed(name, texts.file_too_large(max_bytes // (1024 * 1024)))
    except (httpx.TimeoutException, TimeoutError):
        raise DownloadFailed(name, texts.download_timed_out()) from None
    except httpx.InvalidURL:
        # Not an HTTPError: a malformed address (one a redirect gave) would escape as a crash.
        raise DownloadFailed(name, texts.not_a_download_address()) from None
    except httpx.HTTPError as error:
        raise DownloadFailed(name, texts.download_failed(type(error).__name__)) from None
    return bytes(data)
