"""multipart/form-data uploads (``/v1/audio/transcriptions``, ``/v1/files``), read within
``server.max_upload_mb``: a larger declared length is refused before the body is read, a body that
turns out larger is cut off at the limit, and both are a 413 that names the setting."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from starlette.datastructures import FormData
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from banjia.errors import APIError, bad_request

__all__ = ["read_form", "too_large"]


def too_large(limit: int, size: int | None = None) -> APIError:
    what = f"is {size} bytes, more than" if size is not None else "is more than"
    return APIError(413, f"The upload {what} the {limit} bytes this server accepts (server.max_upload_mb).",
                    code="request_too_large")


async def read_form(request: Request, limit: int, *, expected: str, max_files: int,
                    max_fields: int) -> FormData:
    """The request's form, read within ``limit`` bytes. ``expected`` says what the form must hold
    (for the error when the body is not multipart). The caller closes the form."""
    ctype = request.headers.get("content-type", "")
    if not ctype.lower().startswith("multipart/form-data"):
        raise bad_request(f"{expected} (got Content-Type '{ctype[:100] or 'none'}').", code="invalid_value")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit, int(declared))

    async def bounded() -> AsyncGenerator[bytes, None]:
        seen = 0
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > limit:
                raise too_large(limit)
            yield chunk

    try:
        return await MultiPartParser(request.headers, bounded(), max_files=max_files,
                                     max_fields=max_fields).parse()
    except MultiPartException as e:
        raise bad_request(f"The multipart body could not be read: {e.message}", code="invalid_value") from e
