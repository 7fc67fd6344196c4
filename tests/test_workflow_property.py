"""Random sequences of actions by random users keep the workflow's promises."""

import json

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from app import clock
from app import db as database
from app.audit import verify_chain
from app.editions import get_edition, verify
from app.importer import parse_upload
from app.permissions import NotAllowed
from app.reports import InvalidInput, create_report, get_report
from app.schema import migrate
from app.sections import Conflict, get_sections, save_section
from app.users import get_or_create_unit, get_user
from app.workflow import TRANSITIONS, InvalidTransition, perform
from tests.conftest import SAMPLE_TEXT

ROLES = ["admin", "editor", "reviewer", "approver", "viewer"]


class WorkflowMachine(RuleBasedStateMachine):
    """A sample report, one user per role, and any action in any order."""

    def __init__(self):
        super().__init__()
        self.db = database.connect(":memory:")
        migrate(self.db)
        unit_id = get_or_create_unit(self.db, "某单位")
        self.users = {}
        for role in ROLES:
            user_id = self.db.execute(
                "INSERT INTO users (username, display_name, password_hash, role, unit_id, created_at)"
                " VALUES (?, ?, 'unused', ?, ?, ?)",
                (role, role, role, None if role == "admin" else unit_id, clock.now()),
            ).lastrowid
            self.users[role] = get_user(self.db, user_id)
        self.report_id = create_report(self.db, self.users["admin"], unit_id, 2024,
                                       parse_upload(SAMPLE_TEXT))
        self.transitions = 0

    def teardown(self):
        self.db.conn.close()

    def report(self):
        return get_report(self.db, self.users["admin"], self.report_id)

    def audit_transitions(self) -> int:
        return self.db.execute("SELECT count(*) FROM audit_log WHERE action LIKE 'report.%'"
                               " AND action != 'report.create'").fetchone()[0]

    @rule(role=st.sampled_from(ROLES), action=st.sampled_from(list(TRANSITIONS)),
          reason=st.sampled_from(["", "请修改"]))
    def act(self, role, action, reason):
        before = self.audit_transitions()
        try:
            perform(self.db, self.report_id, self.users[role], action, reason)
        except (NotAllowed, InvalidTransition, InvalidInput):
            assert self.audit_transitions() == before
            return
        self.transitions += 1
        assert self.audit_transitions() == before + 1

    @rule(role=st.sampled_from(ROLES), index=st.integers(0, 10), text=st.text(max_size=30))
    def edit(self, role, index, text):
        section = get_sections(self.db, self.report_id)[index]
        try:
            save_section(self.db, self.report(), self.users[role], section.id, text, section.version)
        except (NotAllowed, Conflict):
            pass

    @invariant()
    def one_audit_row_per_transition(self):
        assert self.audit_transitions() == self.transitions

    @invariant()
    def approved_content_matches_its_edition(self):
        report = self.report()
        if report["status"] != "approved":
            return
        number = self.db.execute("SELECT max(number) FROM editions WHERE report_id = ?",
                                 (self.report_id,)).fetchone()[0]
        edition = get_edition(self.db, self.report_id, number)
        assert verify(edition)
        live = [(s.title, s.markdown) for s in get_sections(self.db, self.report_id)]
        assert live == [(s["title"], s["markdown"]) for s in edition["content"]["sections"]]

    @invariant()
    def editions_never_change(self):
        for row in self.db.query("SELECT content, content_hash FROM editions"):
            assert verify({"content": json.loads(row["content"]), "content_hash": row["content_hash"]})

    @invariant()
    def audit_chain_verifies(self):
        assert verify_chain(self.db) is None


WorkflowMachine.TestCase.settings = settings(
    max_examples=40, stateful_step_count=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestWorkflow = WorkflowMachine.TestCase
