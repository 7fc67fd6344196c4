"""Parts of the report page and of forms rendered in one pass, straight from the HTML stored at save time.

No cache: a report page is a few indexed queries and one template pass over the sections (the
Markdown was rendered once, when it was saved). The app's one cache for costlier things is kept.py.
"""

from flask import current_app, render_template, url_for
from markupsafe import Markup


def section_renderer(context: dict):
    """The function the report page calls for each section's HTML (`reports/_section.html`)."""
    app = current_app._get_current_object()
    template = app.jinja_env.get_template("reports/_section.html")
    values = dict(context)
    app.update_template_context(values)  # once per page: request, current_user, csrf_token …
    # Links carry the script root of this request (X-Forwarded-Prefix): made per page, never kept.
    values["section_base"] = url_for("reports.show", report_id=context["report"]["id"]) + "/sections/"

    def render(section) -> Markup:
        return Markup(template.render(values, section=section))  # noqa: S704 # nosec B704 - our own template's output, escaped by Jinja

    def render_all(sections) -> Markup:
        # One pass over the list: a context per section cost more than the sections themselves.
        return Markup(template.render(values, sections_list=sections))  # noqa: S704 # nosec B704 - our own template's output, escaped by Jinja

    render.all = render_all
    return render


def all_sections(render):
    """The function the report page calls once for all its sections, in one template pass."""
    return render.all


def outline_html(sections) -> Markup:
    """The report's table of contents (`reports/_outline.html`)."""
    return Markup(render_template("reports/_outline.html", sections=sections))  # noqa: S704 # nosec B704 - our own template's output, escaped by Jinja


def unit_options(units, selected=None) -> Markup:
    """The <option>s of a unit choice (UnitChoice pairs), `selected` (an id) marked: a district has a thousand."""
    html = render_template("_unit_options.html", units=units)
    chosen = str(selected if selected is not None else "").strip()
    if chosen.isdecimal() and chosen.isascii():  # a form sent back may hold anything
        html = html.replace(f'<option value="{int(chosen)}">', f'<option value="{int(chosen)}" selected>', 1)
    return Markup(html)  # noqa: S704 # nosec B704 - our own template's output, escaped by Jinja
