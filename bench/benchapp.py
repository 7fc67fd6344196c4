"""The production app plus a baseline route, for benchmarks only: never part of the real site.

`flask --app bench.benchapp serve` serves exactly what `flask --app app serve` serves, and in
addition /_bench/baseline/<name>: bytes stored in memory (PUT) returned as they are (GET, POST),
through the same hooks (request log, security headers). Beside each real page it shows what
Flask and waitress cost for the same bytes without the page's own work.
"""

from flask import Flask, Response, request

from app import create_app as create_production_app
from app import csrf
from app.views import _PUBLIC_ENDPOINTS

ENDPOINT = "bench_baseline"


def create_app(test_config: dict | None = None) -> Flask:
    """The real application with the baseline route added."""
    app = create_production_app(test_config)
    bodies: dict[str, tuple[bytes, str]] = {}

    @csrf.exempt
    def baseline(name: str):
        """PUT stores a page's bytes; GET and POST answer them from memory."""
        if request.method == "PUT":
            bodies[name] = (request.get_data(), request.headers.get("Content-Type", "text/html; charset=utf-8"))
            return "", 204
        body, content_type = bodies[name]
        return Response(body, content_type=content_type)

    app.add_url_rule("/_bench/baseline/<name>", ENDPOINT, baseline, methods=["GET", "POST", "PUT"])
    _PUBLIC_ENDPOINTS.add(ENDPOINT)  # like /s/ pages: no session needed
    return app
