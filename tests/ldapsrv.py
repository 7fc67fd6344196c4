"""A real OpenLDAP server (Debian slapd) for the tests: a throwaway configuration and database in a temporary
directory, on a free loopback port, with a few people; stopped at the end. Not the system's slapd."""

import shutil
import subprocess
import time
from pathlib import Path

import ldap3
import pytest

from tests.livesrv import free_port

SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
BASE_DN = "dc=jixiao,dc=test"
ROOT_DN = f"cn=admin,{BASE_DN}"
ROOT_PASSWORD = "root-secret-42"
SEARCH_DN = f"cn=jixiao-search,ou=services,{BASE_DN}"
SEARCH_PASSWORD = "search-secret-42"
PEOPLE = f"ou=people,{BASE_DN}"
# uid → (cn, mail, password)
STAFF = {
    "zhangsan": ("张三", "zhangsan@jixiao.test", "zhangsan-pass-42"),
    "lisi": ("李四", "lisi@jixiao.test", "lisi-pass-42"),
    "wangwu": ("王五", "", "wangwu-pass-42"),
    "leaver": ("离职人员", "leaver@jixiao.test", "leaver-pass-42"),
    "newcomer": ("新同事", "newcomer@jixiao.test", "newcomer-pass-42"),
}

_CONF = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
pidfile {dir}/slapd.pid
argsfile {dir}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 10485760
suffix "{base}"
rootdn "{root}"
rootpw {rootpw}
directory {dir}/data
access to attrs=userPassword by anonymous auth by self write by * none
access to * by users read by anonymous read
"""


def _ldif() -> str:
    """The tree: the organisation, a search account, and the staff."""
    entries = [
        f"dn: {BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\no: jixiao\ndc: jixiao",
        f"dn: ou=people,{BASE_DN}\nobjectClass: organizationalUnit\nou: people",
        f"dn: ou=services,{BASE_DN}\nobjectClass: organizationalUnit\nou: services",
        f"dn: {SEARCH_DN}\nobjectClass: person\ncn: jixiao-search\nsn: search\nuserPassword: {SEARCH_PASSWORD}",
    ]
    for uid, (cn, mail, password) in STAFF.items():
        lines = [f"dn: uid={uid},{PEOPLE}", "objectClass: inetOrgPerson", f"uid: {uid}",
                 f"cn:: {_b64(cn)}", f"sn:: {_b64(cn[0])}", f"userPassword: {password}"]
        if mail:
            lines.append(f"mail: {mail}")
        entries.append("\n".join(lines))
    return "\n\n".join(entries) + "\n"


def _b64(text: str) -> str:
    """An LDIF value in base64 (non-ASCII values must be)."""
    import base64

    return base64.b64encode(text.encode("utf-8")).decode("ascii")


class Slapd:
    """slapd over its own configuration in `workdir`, listening on 127.0.0.1:<free port>."""

    def __init__(self, workdir: Path):
        self.dir = workdir
        self.port = free_port()
        self.url = f"ldap://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        (workdir / "data").mkdir(parents=True)
        self.conf = workdir / "slapd.conf"
        self.conf.write_text(_CONF.format(dir=workdir, base=BASE_DN, root=ROOT_DN, rootpw=ROOT_PASSWORD),
                             encoding="utf-8")
        (workdir / "data.ldif").write_text(_ldif(), encoding="utf-8")
        subprocess.run([SLAPADD, "-f", str(self.conf), "-l", str(workdir / "data.ldif")], check=True,
                       capture_output=True, timeout=60)

    def start(self) -> None:
        """Run slapd in the foreground of a child process (-d: no fork, no privilege drop) and wait for it."""
        log = open(self.dir / "slapd.log", "a", encoding="utf-8")  # noqa: SIM115 (closed with the process)
        self.proc = subprocess.Popen([SLAPD, "-f", str(self.conf), "-h", f"{self.url}/", "-d", "none"],
                                     stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 20
        while not self.answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"slapd did not start: {(self.dir / 'slapd.log').read_text()[-2000:]}")
            time.sleep(0.05)

    def answers(self) -> bool:
        """Whether the root account can bind right now."""
        try:
            conn = ldap3.Connection(ldap3.Server(self.url, connect_timeout=1), ROOT_DN, ROOT_PASSWORD)
            ok = conn.bind()
            conn.unbind()
            return ok
        except ldap3.core.exceptions.LDAPException:
            return False

    def stop(self) -> None:
        """Stop slapd (the directory goes down)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def modify(self, uid: str, **attributes: str) -> None:
        """Change attributes of a person as the directory's administrator would (replace each value)."""
        conn = ldap3.Connection(ldap3.Server(self.url), ROOT_DN, ROOT_PASSWORD, auto_bind=True)
        changes = {name: [(ldap3.MODIFY_REPLACE, [value])] for name, value in attributes.items()}
        assert conn.modify(f"uid={uid},{PEOPLE}", changes), conn.result
        conn.unbind()


def slapd_available() -> bool:
    """Whether Debian's slapd is installed (scripts/system-deps.sh installs it for the tests)."""
    return shutil.which(SLAPD) is not None or Path(SLAPD).exists()


@pytest.fixture(scope="module")
def slapd(tmp_path_factory):
    """A running throwaway OpenLDAP server with the STAFF people."""
    if not slapd_available():
        pytest.fail("slapd is not installed: run scripts/system-deps.sh (make test does)")
    server = Slapd(tmp_path_factory.mktemp("slapd"))
    server.start()
    yield server
    server.stop()
