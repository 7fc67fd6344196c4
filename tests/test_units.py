"""Units have a name, an optional 预算编码 and an optional parent unit."""

import pytest

from app.users import UserError, create_unit, update_unit
from tests.conftest import csrf_from


def test_a_unit_can_sit_under_a_parent_but_never_under_itself(db):
    bureau = create_unit(db, "广州市荔湾区财政局", "101")
    child = create_unit(db, "荔湾区某街道办", "101001", parent_id=bureau)
    grandchild = create_unit(db, "某社区服务中心", parent_id=child)
    assert db.execute("SELECT parent_id FROM units WHERE id = ?", (child,)).fetchone()[0] == bureau
    with pytest.raises(UserError, match="上级单位不能是本单位或其下级单位"):
        update_unit(db, bureau, "广州市荔湾区财政局", "101", parent_id=grandchild)
    with pytest.raises(UserError, match="上级单位不能是本单位"):
        update_unit(db, child, "荔湾区某街道办", "101001", parent_id=child)
    with pytest.raises(UserError, match="不存在"):
        create_unit(db, "孤儿单位", parent_id=99999)


def test_the_admin_page_sets_and_shows_the_parent(auth, db):
    auth.login("admin")
    page = auth.get("/admin/units")
    parent = db.execute("SELECT id FROM units WHERE name = '广州市荔湾区残疾人联合会'").fetchone()[0]
    response = auth.client.post("/admin/units", data={
        "csrf_token": csrf_from(page.text), "name": "残联下属康复中心", "code": "2001", "parent_id": str(parent)})
    assert response.status_code == 303
    listing = auth.get("/admin/units").text
    row = listing[listing.index("<td>残联下属康复中心</td>"):]
    assert "广州市荔湾区残疾人联合会" in row[:300]
