"""A tiny real-HTTP browser for tests against a live server: cookies kept, redirects not followed."""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.cookiejar import CookieJar


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@dataclass
class Page:
    """A response: status, headers and body text."""

    status: int
    headers: dict
    text: str

    def csrf_token(self) -> str:
        """The CSRF token of the form on the page."""
        match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', self.text) or \
            re.search(r'value="([^"]+)"[^>]*name="csrf_token"', self.text)
        if not match:
            raise AssertionError("no CSRF token on the page")
        return match.group(1)


class Browser:
    """One user with their own cookies."""

    def __init__(self, base_url: str, timeout: float = 30):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect)

    def tab(self) -> Browser:
        """Another tab of this browser: it shares the cookies."""
        other = Browser(self.base_url, self.timeout)
        other.opener = self.opener
        return other

    def request(self, path: str, data: dict | None = None) -> Page:
        """GET (or POST when ``data`` is given) ``path``; never raises on an HTTP error status."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base_url + path, data=body)
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                return Page(response.status, dict(response.headers), response.read().decode())
        except urllib.error.HTTPError as error:
            return Page(error.code, dict(error.headers), error.read().decode(errors="replace"))

    def upload(self, path: str, fields: dict, name: str, filename: str, content: bytes) -> Page:
        """POST a multipart form with ``fields`` and one file, as a browser's file input sends it."""
        boundary = "coachlab-test-boundary"
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
                 for key, value in fields.items()]
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                     "Content-Type: text/csv\r\n\r\n".encode() + content + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        request = urllib.request.Request(self.base_url + path, data=body,
                                         headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                return Page(response.status, dict(response.headers), response.read().decode())
        except urllib.error.HTTPError as error:
            return Page(error.code, dict(error.headers), error.read().decode(errors="replace"))

    def get(self, path: str) -> Page:
        return self.request(path)

    def post(self, path: str, data: dict) -> Page:
        return self.request(path, data)
