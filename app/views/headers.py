"""The headers every response carries: security headers on all, and the share pages' own under /s/."""

from flask import request

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
# The endpoints of a share link (views/shares.py), whatever their path.
SHARE_ENDPOINTS = {"shares.view", "shares.print_page", "shares.pdf"}
# Every response carries these, errors included, unless the view set its own.
_SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
)
_PAGE_HEADERS = (*_SECURITY_HEADERS, ("Cache-Control", "no-store"))
# Anything under /s/: no referrer, no indexing, no caching, whatever the view said (a bearer link must not leak).
_SHARE_HEADERS = (("Referrer-Policy", "no-referrer"), ("X-Robots-Tag", "noindex, nofollow"),
                  ("Cache-Control", "no-store"))
_SHARE_NAMES = {name.lower() for name, _ in _SHARE_HEADERS}
SHARE_PAGE_HEADERS = (*_SHARE_HEADERS, *((n, v) for n, v in _SECURITY_HEADERS if n.lower() not in _SHARE_NAMES))


def response_headers(response):
    """Add the security headers (and the share pages' own) in one pass over what the response holds."""
    # One pass instead of a setdefault per header: Werkzeug's lookups scan the list and raise for each miss.
    headers = response.headers
    present = {name.lower() for name, _ in headers}
    if request.path.startswith("/s/") or request.endpoint in SHARE_ENDPOINTS:
        for name in present & _SHARE_NAMES:
            del headers[name]
        present -= _SHARE_NAMES
        wanted = SHARE_PAGE_HEADERS
    else:
        wanted = _SECURITY_HEADERS if request.endpoint == "static" else _PAGE_HEADERS
    headers.extend([(name, value) for name, value in wanted if name.lower() not in present])
    if request.endpoint != "static":
        # The same URL answers a whole page or an htmx fragment.
        if "vary" in present:
            response.vary.add("HX-Request")
        else:
            headers.add("Vary", "HX-Request")
    return response
