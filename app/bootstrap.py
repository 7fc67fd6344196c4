"""First run: an instance without an admin gets one; an instance without reports gets the sample."""

from pathlib import Path

import sqlite_utils

from .form_model import load_form_file
from .importer import parse_upload
from .reports import create_report
from .users import create_user, generate_password, get_or_create_unit, get_user

ROOT = Path(__file__).resolve().parent.parent  # the repository: templates/, static/, instance/
SAMPLE_REPORT = Path(__file__).resolve().parent / "data" / "liwan-2024-self-evaluation.md"
SAMPLE_UNIT = "广州市荔湾区残疾人联合会"
SAMPLE_YEAR = 2024
# The sample's 自评表 (DESIGN §8 "form" JSON), kept beside the sample text.
SAMPLE_FORM_NAME = "liwan-2024-form.json"


def first_run(db: sqlite_utils.Database, sample: Path | None, admin_password: str | None) -> dict:
    """Create the admin account and load the sample report where they are missing.

    Returns what was done: {"admin_password": generated password or None, "report_id": …}.
    """
    done = {"admin_password": None, "report_id": None}
    admin = db.execute("SELECT id FROM users WHERE role = 'admin' ORDER BY id LIMIT 1").fetchone()
    if admin is None:
        password = admin_password or generate_password()
        admin_id = create_user(db, "admin", "admin", password, display_name="系统管理员")
        if not admin_password:
            done["admin_password"] = password
    else:
        admin_id = admin[0]
    has_reports = db.execute("SELECT 1 FROM reports LIMIT 1").fetchone()
    if sample is not None and not has_reports:
        unit_id = get_or_create_unit(db, SAMPLE_UNIT)
        parsed = parse_upload(sample.read_text(encoding="utf-8"), sample.name)
        if sample.with_name(SAMPLE_FORM_NAME).exists():
            parsed.form = load_form_file(sample.with_name(SAMPLE_FORM_NAME))
        done["report_id"] = create_report(
            db, get_user(db, admin_id), unit_id, SAMPLE_YEAR, parsed, how="示例导入"
        )
    return done
