"""Plant the XSS corpus in every text a user can write, and list every page that shows it; check a page.

plant() works on a database through the application's own domain functions (so the HTML is rendered
and sanitised exactly as a save through the site would), for the server-side test and for the real
server of the browser test alike. check_html() is the server-side judgement of one page; the browser
test runs the same rules on the live DOM.
"""

import re
from dataclasses import dataclass, field

import lxml.html

from app.comments import add_comment
from app.form_store import add_row, load_form, save_goals, save_header
from app.reports import create_report, get_report, standard_outline, update_header
from app.sections import add_section, get_sections, save_section
from app.shares import create_share
from app.users import create_unit, create_user, get_user
from app.workflow import perform
from tests.passwords import CHEAP_HASH
from tests.security.xss_payloads import LEAKS, MARKER, PAYLOADS, packed, products

HOSTILE_PASSWORD = "hostile-pass-42"
ZONE = "Asia/Shanghai"


@dataclass
class Planted:
    """Where the corpus went: ids, tokens and the users whose names are payloads."""

    report: int
    unit: int
    batch_section: int
    names_section: int
    sections: list[int] = field(default_factory=list)
    users: list[str] = field(default_factory=list)  # usernames of the users with hostile names
    odd_usernames: list[str] = field(default_factory=list)  # usernames that are payloads themselves
    reports: list[int] = field(default_factory=list)  # reports of units with hostile names
    tokens: list[str] = field(default_factory=list)  # share links of those reports
    draft_token: str = ""
    edition_token: str = ""

    def pages(self) -> list[str]:
        """Every page that shows planted text, as an admin sees them (share pages need no login)."""
        r = f"/reports/{self.report}"
        pages = [
            "/", "/?page=2", "/?page=3", "/?page=4", r, r + "/print", r + "/changes", r + "/workflow",
            r + "/activity", r + "/activity?page=2", r + "/activity?page=3", r + "/shares", r + "/header",
            r + "/form/rules", r + "/editions/1", r + "/editions/1/print", r + "/editions/1/sheet",
            f"{r}/sections/{self.batch_section}/history", f"{r}/sections/{self.names_section}/history",
            f"{r}/sections/{self.batch_section}/edit",
            # The page of a section's comment form names the section: the last few payload sections' titles.
            *(f"{r}/comments/new?section_id={section}" for section in self.sections[-6:-1]),
            "/admin/users", "/admin/units", "/admin/audit", "/admin/audit?page=2", "/admin/audit?page=3",
            f"/admin/units/{self.unit}", "/reports/import",
            *(f"/search?q=xss&page={page}" for page in range(1, 15)),
            *(f"/s/{token}" for token in (self.draft_token, self.edition_token)),
            *(f"/s/{token}/print" for token in (self.draft_token, self.edition_token)),
        ]
        for report_id, token in zip(self.reports, self.tokens, strict=True):
            pages += [f"/reports/{report_id}", f"/reports/{report_id}/print", f"/s/{token}"]
        return pages


def _chunks(texts: list[str], limit: int, separator: str = "\n\n") -> list[str]:
    """Texts joined into pieces of at most `limit` characters."""
    pieces, current = [], ""
    for text in texts:
        if current and len(current) + len(separator) + len(text) > limit:
            pieces.append(current)
            current = ""
        current = f"{current}{separator}{text}" if current else text
    return pieces + ([current] if current else [])


def plant(db) -> Planted:
    """Write every payload into every user-writable text of a database holding the sample report."""
    db.execute("PRAGMA synchronous = OFF")  # a test database: thousands of small commits
    try:
        return _plant(db)
    finally:
        db.execute("PRAGMA synchronous = FULL")


def _plant(db) -> Planted:
    """plant()'s work."""
    admin = get_user(db, db.execute("SELECT id FROM users WHERE role = 'admin' ORDER BY id").fetchone()[0])
    report_id, unit_id = db.execute("SELECT id, unit_id FROM reports ORDER BY id LIMIT 1").fetchone()
    texts = [p.text for p in PAYLOADS]
    everything = "\n\n".join(texts)

    def report():
        return get_report(db, admin, report_id)

    # Title, preamble, one section per payload (title and text), one with all of them.
    update_header(db, report(), admin, packed(200)[0], everything, report()["version"])
    for payload in PAYLOADS:
        title = " ".join(payload.text.split())
        section_id = add_section(db, report(), admin, title if len(title) <= 200 else f"载荷 {payload.n}")
        save_section(db, report(), admin, section_id, payload.text, 1)
    batch = add_section(db, report(), admin, "全部载荷")
    save_section(db, report(), admin, batch, everything, 1)
    names = add_section(db, report(), admin, "署名")
    planted = Planted(report_id, unit_id, batch, names,
                      sections=[s.id for s in get_sections(db, report_id) if s.title != "署名"])

    # The 自评表: header, goals, budget lines and indicators (weight 0, so the scores stay as they were).
    form = load_form(db, report_id)
    save_header(db, report(), admin, {"contact_name": packed(50)[0], "contact_phone": "020-1234",
                                      "filled_on": "2025-03-01"}, form.header.version)
    goals = _chunks(texts, 5000)
    save_goals(db, report(), admin, {"target": goals[0], "actual": goals[1], "unmet_reason": goals[2]},
               form.goals.version)
    for source in packed(30)[:40]:
        add_row(db, report(), admin, "budget", {"source": source, "initial": "1", "adjusted": "1", "executed": "1"})
    level_names = packed(30)
    for index, (name, value, reason) in enumerate(zip(packed(100), packed(500) * 3, packed(2000) * 9,
                                                      strict=False)):
        add_row(db, report(), admin, "indicators", {
            "level1": level_names[index % len(level_names)], "level2": level_names[-1 - index % len(level_names)],
            "name": name, "kind": "qualitative", "target": value, "actual": value, "rating": "达成",
            "weight": "0", "reason": reason})

    # Comments by the reviewer; replies and revisions by users whose names are payloads.
    reviewer = get_user(db, create_user(db, "hostile-reviewer", "reviewer", HOSTILE_PASSWORD,
                                        display_name="审核人", unit_id=unit_id, method=CHEAP_HASH))
    threads = [add_comment(db, report(), reviewer, body, batch) for body in _chunks(texts, 5000)]
    threads.append(add_comment(db, report(), reviewer, _chunks(texts, 5000)[0]))
    for index, name in enumerate(packed(50)):
        username = f"hostile{index}"
        user = get_user(db, create_user(db, username, "editor", HOSTILE_PASSWORD, display_name=name,
                                        unit_id=unit_id, method=CHEAP_HASH))
        planted.users.append(username)
        version = db.execute("SELECT version FROM sections WHERE id = ?", (names,)).fetchone()[0]
        save_section(db, report(), user, names, f"第 {index} 次修改", version)
        add_comment(db, report(), user, f"回复 {index}", parent_id=threads[index % len(threads)])
    for payload in PAYLOADS:
        username = payload.text
        if len(username) <= 50 and not any(ch.isspace() for ch in username) and "\x00" not in username:
            create_user(db, username, "viewer", HOSTILE_PASSWORD, display_name=f"用户名载荷{payload.n}",
                        unit_id=unit_id, method=CHEAP_HASH)
            planted.odd_usernames.append(username)

    # Share links with hostile notes; the draft link is the one the browser opens.
    planted.draft_token = create_share(db, report(), admin, "", "草稿链接", ZONE, draft=True)
    for note in packed(200):
        create_share(db, report(), admin, "30", note, ZONE, draft=True)

    # Through the workflow: an edition freezes it all; reasons of reopen and return are payloads too.
    for action in ("submit", "pass", "approve"):
        perform(db, report_id, admin, action)
    planted.edition_token = create_share(db, report(), admin, "", "定稿链接", ZONE)
    reasons = _chunks(texts, 5000)
    perform(db, report_id, admin, "reopen", reasons[0])
    perform(db, report_id, admin, "submit")
    perform(db, report_id, admin, "return", reasons[1], tuple(planted.sections[:30]))
    for section_id in planted.sections[:20]:  # changed since the return: the changes page shows diffs
        section = next(s for s in get_sections(db, report_id) if s.id == section_id)
        save_section(db, report(), admin, section_id, section.markdown + "\n\n" + texts[-1 - section_id % 50],
                     section.version, title=section.title)

    # Units whose names are payloads, each with a report whose title is one too, and a link to it.
    titles = packed(200)
    for index, name in enumerate(packed(100)):
        other_unit = create_unit(db, name, actor_id=admin.id)
        outline = standard_outline(name, 2024)
        outline.title, outline.form = titles[index % len(titles)], None  # a light page: no 自评表 rows
        other = create_report(db, admin, other_unit, 2024, outline)
        planted.reports.append(other)
        planted.tokens.append(create_share(db, get_report(db, admin, other), admin, "", "单位", ZONE, draft=True))
    return planted


# --- Judging a page --------------------------------------------------------------------------------

# Elements that user text must never bring in; the site's own pages use none of them (its two
# scripts and one stylesheet are checked separately).
FORBIDDEN_ELEMENTS = {"iframe", "frame", "frameset", "object", "embed", "applet", "base", "portal", "svg",
                      "math", "template", "style", "xmp", "plaintext", "noscript", "marquee", "video",
                      "audio", "source", "picture", "isindex"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "xlink:href", "background", "poster",
                  "lowsrc", "dynsrc", "srcset", "codebase", "cite", "ping", "manifest"}
_SCHEME = re.compile(r"^(javascript|vbscript|data|livescript):")
_SITE_SCRIPTS = {"/static/vendor/htmx-2.0.11.min.js", "/static/js/app.js", "/static/js/editor.js"}


def bad_url(value: str) -> bool:
    """Whether a URL attribute would run script, read as the WHATWG URL parser reads it: entities already
    decoded by the HTML parser, leading and trailing controls and spaces stripped, every tab and line
    break removed, the scheme's case ignored."""
    squeezed = re.sub(r"[\t\n\r]", "", value.strip("".join(map(chr, range(0x21))))).lower()
    return bool(_SCHEME.match(squeezed))


_HTMX_URLS = {"get", "post", "put", "patch", "delete", "push-url", "replace-url"}


def _htmx_danger(name: str, value: str) -> bool:
    """An htmx attribute that planted text controls where it matters: code (hx-on, js: values, trigger
    filters) or the URL a request goes to. The site's own hx-confirm questions quote user text: that
    is shown by window.confirm as text."""
    if not name.startswith(("hx-", "data-hx-")):
        return False
    bare = name.removeprefix("data-").removeprefix("hx-")
    if bare.startswith("on"):
        return True
    if bare in _HTMX_URLS:
        return MARKER in value or "evil" in value or bad_url(value)
    if bare in ("vals", "headers"):
        return "js:" in value or "javascript:" in value or MARKER in value
    return bare in ("trigger", "swap-oob") and MARKER in value


def check_html(text: str, where: str) -> list[str]:
    """What is wrong with a page: anything from the corpus that became markup, or leaked from the server."""
    problems = []
    # libxml2's HTML parser, not an HTML5 one: fifty times faster on a 1 MB report page; the browser
    # test runs the same rules on Chromium's own DOM.
    root = lxml.html.document_fromstring(text)
    messages = 0
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        tag = element.tag.rsplit("}", 1)[-1].lower()
        attributes = {name.rsplit("}", 1)[-1].lower(): value for name, value in element.attrib.items()}
        if tag in FORBIDDEN_ELEMENTS:
            problems.append(f"{where}: <{tag}> element")
        if tag == "script" and (attributes.get("src") not in _SITE_SCRIPTS or (element.text or "").strip()):
            problems.append(f"{where}: script {attributes.get('src')!r} {element.text!r:.60}")
        if tag == "meta" and attributes.get("http-equiv", "").lower() == "refresh":
            problems.append(f"{where}: meta refresh")
        if tag == "meta" and attributes.get("name") == "htmx-config" and MARKER in attributes.get("content", ""):
            problems.append(f"{where}: a second htmx-config")
        if tag == "link" and attributes.get("href") != "/static/css/app.css" and \
                attributes.get("href") != "/static/css/print.css":
            problems.append(f"{where}: link {attributes.get('href')!r}")
        if tag == "form" and not attributes.get("action", "/").startswith("/"):
            problems.append(f"{where}: form posting to {attributes.get('action')!r}")
        if attributes.get("id") == "messages":
            messages += 1
        for name, value in attributes.items():
            if name.startswith("on") or name == "srcdoc":
                problems.append(f"{where}: <{tag} {name}={value!r:.60}>")
            elif name in URL_ATTRIBUTES and bad_url(value):
                problems.append(f"{where}: <{tag} {name}={value!r:.60}>")
            elif _htmx_danger(name, value):
                problems.append(f"{where}: <{tag} {name}={value!r:.60}>")
            elif name == "style" and re.search(r"expression|url\(|binding|javascript", value, re.I):
                problems.append(f"{where}: <{tag} style={value!r:.60}>")
    if messages > 1:
        problems.append(f"{where}: {messages} elements with id=messages")
    page_text = root.text_content()
    problems += [f"{where}: template evaluated ({found})" for found in products() if found in page_text]
    problems += [f"{where}: leaked {leak!r}" for leak in LEAKS if leak in page_text]
    return problems
