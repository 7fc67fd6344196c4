"""The ceiling of a benchmark target: a bare Flask app under waitress answering every path with fixed bytes.

    python -m bench.ceiling BODY_FILE CONTENT_TYPE --port P --threads N

The same bytes the target served, through Flask and waitress with the same thread count, and
nothing of this site (no hooks, no session, no database): the most any page of that size can do.
"""

import argparse
from pathlib import Path

from flask import Flask, Response
from waitress import serve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("body", type=Path)
    parser.add_argument("content_type")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    body = args.body.read_bytes()
    app = Flask(__name__)

    @app.get("/", defaults={"path": ""})
    @app.get("/<path:path>")
    def page(path: str):
        """The stored bytes, whatever the path."""
        return Response(body, content_type=args.content_type)

    serve(app, host="127.0.0.1", port=args.port, threads=args.threads, ident=None)


if __name__ == "__main__":
    main()
