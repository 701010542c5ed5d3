"""Security headers on every response."""

from flask import Flask, abort, request, session

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def init_app(app: Flask) -> None:
    """Refuse NUL characters in input; add the headers after every request."""

    @app.before_request
    def refuse_nul_characters():
        # No text field has a use for NUL, and PostgreSQL cannot store it: refuse it at the door.
        values = list(request.args.values())
        if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
                "application/x-www-form-urlencoded", "multipart/form-data"):
            values += list(request.form.values())
        if any("\x00" in value for value in values) or "\x00" in request.path:
            abort(400)

    @app.after_request
    def add_security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        if request.endpoint != "static" and "_user_id" in session:
            # A signed-in user's page, download or chart: no browser or proxy keeps it (a shared
            # machine's cache would show it after log-out). Static files stay cacheable.
            headers.setdefault("Cache-Control", "private, no-store")
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
