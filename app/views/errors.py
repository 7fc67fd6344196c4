"""Refusals and faults as the person sees them: a Chinese message in the page, or a page of its own."""

from flask import g, render_template, request


def error_response(status: int, message: str):
    """A Chinese error message: into the page's message area for htmx, else as a page."""
    if request.htmx:
        # A server fault carries the request id, to find it in the log; a refusal speaks for itself.
        request_id = g.get("request_id") if status >= 500 else None
        body = render_template("_message.html", message=message, level="error", request_id=request_id)
        return body, status, {"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"}
    return render_template("error.html", message=message, status=status), status
