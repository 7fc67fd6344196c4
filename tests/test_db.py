"""The one-value reads of the hot path (db.Packed) give back exactly what a plain read gives."""

from datetime import timedelta

from app import sessions
from app.db import Packed, one
from app.shares import open_share
from app.users import create_unit, create_user, session_user
from tests.passwords import CHEAP_HASH

# Text as people type and paste it: quotes, backslashes, line breaks and tabs, control characters, wide characters.
AWKWARD = ['王"小"明', "C:\\报告\\2024", "第一行\n第二行\t完", "\x01\x1f", "😀 残联", "</script>&amp;", "", "null"]


def test_a_packed_row_is_the_plain_row(memory_db):
    memory_db.execute("CREATE TABLE samples (id INTEGER PRIMARY KEY, text TEXT, number INTEGER, missing TEXT)")
    for n, text in enumerate(AWKWARD):
        memory_db.execute("INSERT INTO samples (text, number, missing) VALUES (?, ?, NULL)", (text, 2**62 - n))
    packed = Packed({"id": "id", "text": "text", "number": "number", "missing": "missing"},
                    "FROM samples WHERE id = ?")
    for row_id in range(1, len(AWKWARD) + 1):
        plain = one(memory_db, "SELECT id, text, number, missing FROM samples WHERE id = ?", (row_id,))
        assert packed.one(memory_db, (row_id,)) == plain
        assert type(packed.one(memory_db, (row_id,))["number"]) is int
    assert packed.one(memory_db, (999,)) is None


def test_a_signed_in_user_comes_back_with_their_names_exactly_as_written(memory_db):
    for n, name in enumerate(AWKWARD[:-2]):
        unit_id = create_unit(memory_db, f"单位{n}{name.strip()}")
        unit_name = memory_db.execute("SELECT name FROM units WHERE id = ?", (unit_id,)).fetchone()[0]
        user_id = create_user(memory_db, f"user{n}", "editor", "password-42", display_name=f"姓名{name}",
                              unit_id=unit_id, method=CHEAP_HASH)
        display_name = memory_db.execute("SELECT display_name FROM users WHERE id = ?", (user_id,)).fetchone()[0]
        token = sessions.start(memory_db, user_id, timedelta(hours=8))
        user, why, generation = session_user(memory_db, token, user_id, timedelta(hours=2), timedelta(hours=8))
        assert why == ""
        assert (user.id, user.username, user.display_name, user.unit_name, user.role, user.active) == (
            user_id, f"user{n}", display_name, unit_name, "editor", True)
        assert generation == memory_db.execute("SELECT number FROM generation").fetchone()[0]
        # A session that is not this user's, or none at all: the user is read, the session refused.
        assert session_user(memory_db, "no-such-session", user_id, timedelta(hours=2), timedelta(hours=8))[1] == "ended"
    assert session_user(memory_db, "no-such-session", 99999, timedelta(hours=2), timedelta(hours=8))[0] is None


def test_a_share_link_is_found_by_its_token_and_not_by_another(memory_db):
    from app.reports import create_report, get_report, standard_outline
    from app.shares import create_share
    from app.users import get_user

    unit_id = create_unit(memory_db, "广州市荔湾区残疾人联合会")
    admin = get_user(memory_db, create_user(memory_db, "admin", "admin", "password-42", method=CHEAP_HASH))
    report_id = create_report(memory_db, admin, unit_id, 2024, standard_outline("广州市荔湾区残疾人联合会", 2024))
    token = create_share(memory_db, get_report(memory_db, admin, report_id), admin, "", "财政局", "Asia/Shanghai",
                         draft=True)
    share = open_share(memory_db, token)
    assert share == one(memory_db, "SELECT id, report_id, edition_id, token_hash, expires_at, revoked_at FROM shares")
    assert share["report_id"] == report_id and share["edition_id"] is None
    assert open_share(memory_db, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
