"""HTTP hardening of the app's Flask server: security headers and a callback body limit.

* Every response carries a Content Security Policy that allows the app's own files and, of
  inline scripts, only those Dash renders itself (by their SHA-256, :meth:`dash.Dash.csp_hashes`),
  forbids framing (``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``), MIME sniffing and
  sending the page address to other sites. No ``Server`` header names a version (the servers
  are configured in :mod:`dashapp.cli` and :mod:`dashapp.production`).
* Callback requests (``POST /_dash-update-component``) are read and checked before Flask or
  Dash parse them: a body over the byte limit (declared ``Content-Length`` or, when streamed,
  the bytes actually read) or holding more JSON values than :data:`MAX_CALLBACK_VALUES` gets a
  413. A legitimate body is small, or large only because an uploaded file rides in it as one
  base64 string; a body of millions of small values would cost Python objects ~25 times its
  size to parse.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

# One JSON value per structural character at most: `{`, `[`, `,` and `:` (counted in strings
# too, which only errs towards refusing; base64 holds none). A lasso over the Segments page's
# 20,000 drawn points sends about 300,000.
MAX_CALLBACK_VALUES = 1_000_000
_STRUCTURAL = (b"{", b"[", b",", b":")
_CHUNK = 1024**2

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def content_security_policy(script_hashes: Sequence[str]) -> str:
    """The policy: the app's own origin, plus the inline scripts whose hashes are given.

    Styles allow ``'unsafe-inline'``: Plotly writes ``<style>`` elements for its charts (style
    injection cannot run code). Images allow ``data:`` and ``blob:`` (Plotly's PNG download).
    """
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *dict.fromkeys(script_hashes)],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def security_headers(csp: str) -> dict[str, str]:
    """The headers added to every response."""
    return {
        "Content-Security-Policy": csp,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
    }


class SecurityHeaders:
    """WSGI middleware: sets the headers ``headers()`` gives on every response that does not
    set them itself (outermost, so the callback limit's 413 and Flask's error pages get them
    too). A function, because Dash adds inline scripts (the page title's) on its first request.
    """

    def __init__(self, app: WSGIApp, headers: Callable[[], dict[str, str]]) -> None:
        self.app = app
        self.headers = headers

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        def start(status: str, response_headers: list[tuple[str, str]], *exc: Any) -> Any:
            present = {name.lower() for name, _ in response_headers}
            extra = [(n, v) for n, v in self.headers().items() if n.lower() not in present]
            return start_response(status, [*response_headers, *extra], *exc)

        return self.app(environ, start)


def too_large_body(error: str, hint: str) -> bytes:
    """The JSON of a 413 answer: what was refused and what to do instead."""
    return json.dumps({"error": error, "hint": hint}).encode()


class CallbackBodyLimit:
    """WSGI middleware: reads a callback request's body, checks its size and number of JSON
    values, and passes it on (re-wrapped) or answers 413 without parsing it.

    ``refusal(reason)`` gives the 413 body; ``reason`` is ``"bytes"`` or ``"values"``.
    """

    def __init__(
        self,
        app: WSGIApp,
        *,
        path: str,
        max_bytes: int,
        refusal: Callable[[str], bytes],
        max_values: int = MAX_CALLBACK_VALUES,
    ) -> None:
        self.app = app
        self.path = path
        self.max_bytes = max_bytes
        self.max_values = max_values
        self.refusal = refusal

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != self.path:
            return self.app(environ, start_response)
        body = self._read(environ)
        if body is None:
            return self._refuse(start_response, "bytes")
        if sum(body.count(char) for char in _STRUCTURAL) > self.max_values:
            return self._refuse(start_response, "values")
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ["wsgi.input_terminated"] = True
        return self.app(environ, start_response)

    def _read(self, environ: dict[str, Any]) -> bytes | None:
        """The whole body, or None as soon as it is known to exceed ``max_bytes``."""
        declared = environ.get("CONTENT_LENGTH") or ""
        stream = environ["wsgi.input"]
        if declared:
            try:
                length = int(declared)
            except ValueError:
                return None
            if length > self.max_bytes or length < 0:
                return None
        elif environ.get("wsgi.input_terminated"):
            length = self.max_bytes + 1  # streamed (chunked): read until the end
        else:
            return b""  # no length, not terminated: WSGI says there is no body
        chunks: list[bytes] = []
        total = 0
        while total < length:
            chunk = stream.read(min(_CHUNK, length - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > self.max_bytes:
                return None
        return b"".join(chunks)

    def _refuse(self, start_response: StartResponse, reason: str) -> list[bytes]:
        body = self.refusal(reason)
        start_response(
            "413 Request Entity Too Large",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("Connection", "close"),
            ],
        )
        return [body]
