"""A synthetic district for load tests: units × years × sections of plausible 自评 text, quickly.

Reports are made by create_report (so every row a real report has exists), with empty sections;
their text then comes in bulk from a pool of paragraphs rendered once (Markdown joins paragraph
by paragraph, so the cached HTML is exactly what a save would have rendered). Past years are
approved with a real frozen edition; the latest year is spread over the workflow states.
"""

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlite_utils
from werkzeug.security import generate_password_hash

from . import audit, clock
from .db import transaction
from .editions import freeze
from .outline import ParsedReport, ParsedSection
from .render import render_markdown
from .reports import InvalidInput, create_report, get_report, standard_outline
from .users import User

DISTRICT = "示范区"
DEPARTMENTS = [
    "残疾人联合会", "教育局", "卫生健康局", "民政局", "人力资源和社会保障局", "财政局", "住房和城乡建设局",
    "交通运输局", "农业农村局", "文化广电旅游体育局", "市场监督管理局", "应急管理局", "司法局",
    "科技工业商务和信息化局", "城市管理和综合执法局", "退役军人事务局", "统计局", "医疗保障局",
    "生态环境分局", "规划和自然资源分局",
]
LEVEL1 = ["部门基本情况", "绩效自评情况", "存在的主要问题", "下一步改进措施", "其他需要说明的事项"]
LEVEL2 = ["部门职能", "预算安排", "部门整体支出绩效目标", "自评结论", "履职效能分析", "管理效率分析", "项目实施情况",
          "资金使用情况", "绩效目标完成情况", "社会效益"]
LEVEL3 = ["预算编制", "预算执行", "信息公开", "绩效管理", "采购管理", "资产管理", "运行成本", "康复服务", "就业帮扶",
          "教育保障", "托养照料", "无障碍改造", "宣传培训", "基础设施"]
# Levels of a 40-section outline, repeated as far as asked: 一、（一）1. 2. …
LEVEL_PATTERN = [1, 2, 3, 3, 3, 2, 3, 3, 3, 3, 2, 3, 3]
SENTENCES = [
    "本单位坚持以人民为中心的发展思想，紧紧围绕年度工作目标，扎实推进各项重点工作。",
    "全年为{n}名残疾人提供基本康复服务，康复服务覆盖率达到{p}%。",
    "开展残疾人职业技能培训{k}期，培训{n}人次，实现就业{m}人。",
    "年初预算{a}万元，全年预算{b}万元，实际支出{c}万元，预算执行率为{p}%。",
    "严格执行政府采购制度，全年完成采购项目{k}个，采购金额{a}万元。",
    "按规定在门户网站公开部门预算、决算及“三公”经费，公开率100%。",
    "建立健全内部控制制度，完善资金审批流程，确保资金使用合规、安全、有效。",
    "部分项目因政策调整未能按期实施，导致预算执行进度偏慢。",
    "下一步将加强预算编制的科学性和准确性，提前谋划项目，提高资金使用效益。",
    "完成无障碍设施改造{k}户，惠及困难残疾人家庭{m}户。",
    "落实困难残疾人生活补贴和重度残疾人护理补贴，发放补贴{a}万元，惠及{n}人。",
    "资产管理规范，固定资产账实相符，资产配置合理，利用率较高。",
    "“三公”经费支出{c}万元，较上年下降{q}%，运行成本得到有效控制。",
    "持续推进残疾儿童康复救助，救助{m}名残疾儿童，康复训练有效率达{p}%。",
    "绩效目标设定较为明确，但部分指标的细化、量化程度仍有待提高。",
    "组织开展绩效运行监控，及时发现并纠正偏差，绩效管理水平稳步提升。",
    "联合街道、社区开展康复进社区活动{k}场，服务群众{n}人次。",
    "社会满意度调查显示，服务对象满意度为{p}%。",
]
POOL_SIZE = 400


@dataclass
class Seeded:
    """What seed_scale made."""

    units: int
    users: int
    reports: int
    sections: int
    seconds: float


def _sentence(rng: random.Random) -> str:
    """One sentence with plausible numbers in it."""
    a = rng.randint(50, 5000) + rng.randint(0, 99) / 100
    return rng.choice(SENTENCES).format(
        n=rng.randint(20, 3000), m=rng.randint(5, 500), k=rng.randint(2, 30), p=rng.randint(80, 100),
        q=rng.randint(1, 20), a=f"{a:.2f}", b=f"{a * 1.05:.2f}", c=f"{a * 0.97:.2f}",
    )


def paragraph_pool(rng: random.Random, size: int = POOL_SIZE) -> list[tuple[str, str]]:
    """(Markdown, its rendered HTML) of paragraphs and the odd list, rendered once each."""
    pool = []
    for i in range(size):
        if i % 10 == 9:
            text = "\n".join(f"- {_sentence(rng)}" for _ in range(rng.randint(2, 4)))
        else:
            text = "".join(_sentence(rng) for _ in range(rng.randint(2, 5)))
            if i % 7 == 0:
                text = "**主要成效：**" + text
        pool.append((text, render_markdown(text)))
    return pool


def outline(rng: random.Random, count: int) -> list[tuple[int, str]]:
    """(level, title) of `count` sections in a plausible order."""
    result = []
    for i in range(count):
        level = LEVEL_PATTERN[i % len(LEVEL_PATTERN)]
        names = {1: LEVEL1, 2: LEVEL2, 3: LEVEL3}[level]
        result.append((level, names[(i // len(LEVEL_PATTERN) + i) % len(names)] if level == 1 else rng.choice(names)))
    return result


def _body(rng: random.Random, pool: list[tuple[str, str]]) -> tuple[str, str]:
    """A section's Markdown and HTML: one to three pool paragraphs."""
    picked = rng.sample(pool, rng.randint(1, 3))
    return "\n\n".join(md for md, _ in picked), "\n".join(html for _, html in picked)


def _create_units(db, operator: User, count: int, password_hash: str) -> list[tuple[int, str]]:
    """Units with one 填报人 each (all sharing one password hash: hashing 1,000 times takes a minute)."""
    now, units = clock.now(), []
    with transaction(db):
        for i in range(1, count + 1):
            name = f"{DISTRICT}{DEPARTMENTS[(i - 1) % len(DEPARTMENTS)]}（{i:04d}）"
            unit_id = db.execute("INSERT INTO units (name, created_at) VALUES (?, ?)", (name, now)).lastrowid
            username = f"seed{i:04d}"
            db.execute(
                "INSERT INTO users (username, display_name, password_hash, role, unit_id, created_at)"
                " VALUES (?, ?, ?, 'editor', ?, ?)", (username, f"填报人{i:04d}", password_hash, unit_id, now))
            audit.record(db, "user.create", actor_id=operator.id, user=username, role="editor")
            units.append((unit_id, name))
    return units


def _advance(db, operator: User, report_id: int, status: str) -> None:
    """Move a fresh draft along the workflow to `status`, as the workflow would record it."""
    steps = {"submitted": ["submit"], "reviewed": ["submit", "pass"], "approved": ["submit", "pass", "approve"]}
    to = {"submit": ("draft", "submitted"), "pass": ("submitted", "reviewed"), "approve": ("reviewed", "approved")}
    for action in steps.get(status, []):
        before, after = to[action]
        report = get_report(db, operator, report_id)
        edition_id = freeze(db, report, operator.id) if action == "approve" else None
        db.execute("UPDATE reports SET status = ? WHERE id = ?", (after, report_id))
        db.execute(
            "INSERT INTO workflow_events (report_id, action, from_status, to_status, actor_id, revisions,"
            " edition_id, created_at) VALUES (?, ?, ?, ?, ?, '{}', ?, ?)",
            (report_id, action, before, after, operator.id, edition_id, clock.now()))
        audit.record(db, f"report.{action}", actor_id=operator.id, report_id=report_id,
                     from_status=before, to_status=after, reason="", revisions={}, edition_id=edition_id)


def _latest_status(rng: random.Random) -> str:
    """The latest year's reports are at every stage."""
    return rng.choices(["draft", "submitted", "reviewed", "approved"], weights=[40, 20, 15, 25])[0]


def seed_scale(
    db: sqlite_utils.Database,
    operator: User,
    units: int,
    years: int,
    sections: int = 40,
    last_year: int = 2024,
    password: str = "",
    seed: int = 1,
    progress: Callable[[int, int, float], None] | None = None,
) -> Seeded:
    """Fill an empty database with `units` units × `years` years of reports of `sections` sections."""
    if db.execute("SELECT count(*) FROM reports").fetchone()[0]:
        raise InvalidInput("seed-scale 只用于空的测试数据库：当前数据库已有报告。请用 FLASK_DATABASE 指定一个新文件。")
    if operator.id is None:
        raise InvalidInput("数据库中还没有管理员账号，请先运行 first-run 或 create-user 创建管理员。")
    started = time.monotonic()
    rng = random.Random(seed)  # noqa: S311 (synthetic text, not secrets)
    pool = paragraph_pool(rng)
    made = _create_units(db, operator, units, generate_password_hash(password))
    total, done, section_count = units * years, 0, 0
    for unit_id, unit_name in made:
        # One transaction per unit: ten reports of forty sections commit together.
        with transaction(db):
            for year in range(last_year - years + 1, last_year + 1):
                parsed = ParsedReport(
                    title=f"{year}年度{unit_name}部门整体支出绩效自评表说明", preamble="",
                    sections=[ParsedSection(level, title) for level, title in outline(rng, sections)],
                )
                parsed.form = getattr(standard_outline(unit_name, year), "form", None)
                report_id = create_report(db, operator, unit_id, year, parsed, how="压测数据")
                # deleted_at IS NULL: the (partial) index sections_report_position serves only such queries.
                ids = [row[0] for row in db.execute(
                    "SELECT id FROM sections WHERE report_id = ? AND deleted_at IS NULL ORDER BY position",
                    (report_id,))]
                bodies = [_body(rng, pool) for _ in ids]
                db.conn.executemany("UPDATE sections SET markdown = ?, html = ? WHERE id = ?",
                                    [(md, html, i) for i, (md, html) in zip(ids, bodies, strict=True)])
                db.conn.executemany("UPDATE revisions SET markdown = ? WHERE section_id = ? AND version = 1",
                                    [(md, i) for i, (md, _) in zip(ids, bodies, strict=True)])
                status = "approved" if year < last_year else _latest_status(rng)
                _advance(db, operator, report_id, status)
                done += 1
                section_count += len(ids)
        if progress is not None:
            progress(done, total, time.monotonic() - started)
    return Seeded(units, units, done, section_count, time.monotonic() - started)
