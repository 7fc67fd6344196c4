"""Operator commands: backup, restore, seed-scale (registered by cli.register)."""

import re
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import with_appcontext

from .backup import BackupError, Check, backup, describe, restore
from .cli import _db, _operator
from .reports import InvalidInput, year_to_report
from .seedscale import seed_scale
from .users import generate_password


def _stamp() -> str:
    """Now in the office's time zone, for file names: 20250301-020000."""
    return datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).strftime("%Y%m%d-%H%M%S")


def _megabytes(size: int) -> str:
    """A size for people: 12.3 MB."""
    return f"{size / 1024 / 1024:.1f} MB"


class _Percent:
    """Progress on stderr in steps of 10%, only for copies big enough to take a moment."""

    def __init__(self, what: str):
        self.what, self.shown, self.started = what, 0, time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        percent = done * 100 // max(total, 1)
        seconds = time.monotonic() - self.started
        if percent >= self.shown + 10 and total > 256:
            self.shown = percent - percent % 10
            click.echo(f"  {self.what} {self.shown}%（{done:,}/{total:,} 页，{seconds:.1f} 秒）", err=True)
        if done >= total:
            click.echo(f"  复制完成（{seconds:.1f} 秒），正在校验副本（integrity_check、foreign_key_check）…", err=True)


def _summary(title: str, check: Check) -> None:
    """What a checked copy holds, in Chinese, on stdout."""
    click.echo(title)
    click.echo(f"  大小 {_megabytes(check.size)}，用时 {check.seconds:.1f} 秒")
    click.echo("  完整性检查（integrity_check）：通过；外键检查（foreign_key_check）：通过")
    click.echo(f"  {describe(check)}")


def _backup_target(given: str, stem: str) -> tuple[Path, bool]:
    """(the file to write, whether DEST named a directory: an existing one, or a path ending in /)."""
    dest = Path(given)
    if dest.is_dir() or given.endswith(("/", "\\")):
        dest.mkdir(parents=True, exist_ok=True)
        name = f"{stem}-{_stamp()}"
        target, n = dest / f"{name}.sqlite", 2
        while target.exists():  # two backups in the same second
            target, n = dest / f"{name}-{n}.sqlite", n + 1
        return target, True
    if not dest.parent.is_dir():
        raise click.ClickException(f"目录不存在：{dest.parent}")
    return dest, False


def _prune(directory: Path, stem: str, keep: int) -> list[Path]:
    """Delete all but the newest `keep` timestamped backups of this database in a directory."""
    pattern = re.compile(rf"^{re.escape(stem)}-\d{{8}}-\d{{6}}(-\d+)?\.sqlite$")
    ours = sorted((p for p in directory.iterdir() if pattern.match(p.name)),
                  key=lambda p: (p.name[len(stem) + 1:len(stem) + 16], p.stat().st_mtime))
    doomed = ours[:-keep] if len(ours) > keep else []
    for path in doomed:
        path.unlink()
    return doomed


@click.command("backup")
@click.argument("dest", type=click.Path())
@click.option("--keep", type=click.IntRange(min=1), default=None,
              help="DEST 为目录时，只保留最新的 N 份备份（删除更早的）")
@click.option("--overwrite", is_flag=True, help="DEST 为已存在的文件时覆盖它")
@with_appcontext
def backup_command(dest: str, keep: int | None, overwrite: bool):
    """Copy the database consistently while the site runs, check the copy, print a summary."""
    source = Path(current_app.config["DATABASE"])
    target, into_directory = _backup_target(dest, source.stem)
    if target.exists() and not overwrite:
        raise click.ClickException(f"文件已存在：{target}（如需覆盖请加 --overwrite，或给出一个目录）")
    if keep is not None and not into_directory:
        raise click.ClickException("--keep 只能与目录一起使用（备份文件名带时间，按时间保留最新的 N 份）。")
    size = source.stat().st_size if source.exists() else 0
    click.echo(f"正在备份 {source}（{_megabytes(size)}）到 {target} …", err=True)
    try:
        check = backup(source, target, progress=_Percent("已复制"))
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    _summary(f"备份完成：{target}", check)
    if keep is not None:
        for old in _prune(target.parent, source.stem, keep):
            click.echo(f"  已删除旧备份：{old.name}")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="不再询问确认（供脚本使用）")
@with_appcontext
def restore_command(file: Path, yes: bool):
    """Replace the database with a backup after checking it; the current one is kept beside it."""
    live = Path(current_app.config["DATABASE"])
    keep_as = live.with_name(f"{live.stem}-before-restore-{_stamp()}.sqlite")
    click.echo(f"将用备份 {file} 替换当前数据库 {live}。", err=True)
    click.echo(f"当前数据库会先另存为 {keep_as.name}。请确认网站服务已经停止。", err=True)
    if not yes and not click.confirm("继续恢复吗？", default=False, err=True):
        raise click.ClickException("已取消，未作任何改动。")
    try:
        check, kept = restore(file, live, keep_as)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    _summary(f"恢复完成：{live}", check)
    if kept:
        click.echo(f"  原数据库已另存为：{kept}")


@click.command("seed-scale")
@click.option("--units", type=click.IntRange(1, 100_000), required=True, help="单位数")
@click.option("--years", type=click.IntRange(1, 50), required=True, help="每个单位的年度数")
@click.option("--sections", type=click.IntRange(1, 1000), default=40, show_default=True, help="每份报告的部分数")
@click.option("--last-year", type=click.IntRange(2000, 2100), default=None, help="最近的年度（默认去年）")
@click.option("--password", default=None, help="生成的填报人账号（seed0001…）的共同密码；不给则随机生成并显示一次")
@click.option("--seed", type=int, default=1, show_default=True, help="随机数种子（同样的参数生成同样的数据）")
@with_appcontext
def seed_scale_command(units, years, sections, last_year, password, seed):
    """Fill an empty database with a synthetic district for load tests (never on real data)."""
    db = _db()
    # Synthetic data: a power cut may cost the last batches, never consistency (WAL).
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA cache_size = -131072")  # 128 MB: the indexes of a district outgrow the default 2 MB
    generated = password is None
    password = password or generate_password()
    total = units * years
    click.echo(f"正在生成 {units:,} 个单位 × {years} 个年度 × {sections} 个部分 = {total:,} 份报告 …", err=True)
    shown = [0.0]

    def progress(done: int, all_: int, seconds: float) -> None:
        if seconds - shown[0] >= 2 or done == all_:
            shown[0] = seconds
            left = seconds / done * (all_ - done) if done else 0
            click.echo(f"  已生成 {done:,}/{all_:,} 份（{done * 100 // all_}%），用时 {seconds:.0f} 秒，"
                       f"预计还需 {left:.0f} 秒", err=True)

    try:
        made = seed_scale(db, _operator(db), units, years, sections,
                          last_year=last_year or year_to_report(), password=password, seed=seed,
                          progress=progress)
    except InvalidInput as error:
        raise click.ClickException(str(error)) from None
    finally:
        db.conn.close()
    click.echo(f"已生成：单位 {made.units:,} 个，填报人 {made.users:,} 个，报告 {made.reports:,} 份，"
               f"部分 {made.sections:,} 个，用时 {made.seconds:.0f} 秒")
    if generated:
        click.echo(f"填报人账号 seed0001 … seed{units:04d} 的共同密码（只显示这一次）：{password}")
    sys.stdout.flush()


COMMANDS = (backup_command, restore_command, seed_scale_command)
