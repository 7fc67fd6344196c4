"""Names the office uses for states and roles: shown on pages, in exports and in the audit log."""

STATUS_LABELS = {
    "draft": "草稿",
    "submitted": "待审核",
    "reviewed": "待审批",
    "approved": "已定稿",
}
ROLES = {
    "admin": "管理员",
    "editor": "填报人",
    "reviewer": "审核人",
    "approver": "审批人",
    "viewer": "只读",
    "supervisor": "监管人员",
}
