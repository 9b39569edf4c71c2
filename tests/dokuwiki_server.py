"""A real private DokuWiki on 127.0.0.1, from Debian's package, for tests.

Each :class:`DokuWikiServer` is a fresh wiki in its own folder: configuration, users, ACL and
pages live there, and a PHP ``auto_prepend_file`` points DokuWiki at that configuration
(Debian's ``inc/preload.php`` only defines ``DOKU_CONF`` when nothing did before). PHP's
built-in server answers on a free loopback port, under ``/dokuwiki/`` as Debian's Apache alias
would. Nothing is written outside the folder; a fresh wiki starts in a fraction of a second.

The wiki is private (``@ALL`` may read nothing) and has three users:

* ``admin`` (superuser), what the tests write pages with, over XML-RPC and HTTP basic auth;
* ``syncbot`` in ``@bots`` (read everywhere, allowed to use the API), what the connector logs
  in with; its password holds ``:``, ``#``, ``%`` and spaces, which basic auth would cut;
* ``outsider``, who may log in but is not allowed to use the API.

``DOKUWIKI_DIR`` points at another DokuWiki release (a source tree) to run the same tests
against it; Debian's ``/usr/share/dokuwiki`` is the default.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import xmlrpc.client
from pathlib import Path
from types import TracebackType
from typing import Any, Self

DOKUWIKI_DIR = Path(os.environ.get("DOKUWIKI_DIR", "/usr/share/dokuwiki"))
INSTALL_HINT = (
    "DokuWiki is not installed: apt-get install dokuwiki php-cli php-xml"
    " (or run .ci/install-dokuwiki.sh)"
)

ADMIN_USER, ADMIN_PASSWORD = "admin", "Adm1n-pw"
BOT_USER, BOT_PASSWORD = "syncbot", "B0t pw: #1%20&x y"
OUTSIDER_USER, OUTSIDER_PASSWORD = "outsider", "0utsider-pw"

_CONF_FILES = [
    "dokuwiki.php",
    "acronyms.conf",
    "entities.conf",
    "interwiki.conf",
    "license.php",
    "manifest.json",
    "mediameta.php",
    "mime.conf",
    "scheme.conf",
    "smileys.conf",
    "wordblock.conf",
    "plugins.php",
    "plugins.required.php",
]
_DATA_DIRS = [
    "pages",
    "attic",
    "meta",
    "media",
    "media_attic",
    "media_meta",
    "cache",
    "index",
    "locks",
    "tmp",
    "log",
]


def missing_reason() -> str | None:
    """Why a wiki cannot be started here, or None when everything needed is installed."""
    if shutil.which("php") is None or not (DOKUWIKI_DIR / "doku.php").is_file():
        return INSTALL_HINT
    modules = subprocess.run(["php", "-m"], capture_output=True, text=True, check=False).stdout
    if "xml" not in modules.split():
        return INSTALL_HINT
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _pwhash(password: str) -> str:
    # bcrypt cost 4: DokuWiki checks the hash on every basic-auth request (cost 10: ~60 ms).
    script = 'echo password_hash($argv[1], PASSWORD_BCRYPT, ["cost" => 4]);'
    done = subprocess.run(
        ["php", "-r", script, password], capture_output=True, text=True, check=True
    )
    return done.stdout


def _conf_source() -> Path:
    """Debian keeps the shipped configuration in /etc/dokuwiki; a source tree in conf/."""
    if Path("/usr/share/dokuwiki") == DOKUWIKI_DIR:
        return Path("/etc/dokuwiki")
    return DOKUWIKI_DIR / "conf"


class DokuWikiServer:
    """A fresh private wiki served on 127.0.0.1; a context manager that starts and stops it.

    ``userewrite`` is DokuWiki's URL style (0: ``doku.php?id=``, 2: ``doku.php/<id>``);
    ``local`` adds lines to ``conf/local.php``.
    """

    def __init__(self, root: Path, *, userewrite: int = 0, local: str = "") -> None:
        self.root = root
        self.port = _free_port()
        self.server_url = f"http://127.0.0.1:{self.port}"
        self.base_url = f"{self.server_url}/dokuwiki/"
        self.data = root / "data"
        self._userewrite = userewrite
        self._local = local
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        self.install()
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def install(self) -> None:
        """Write the configuration, users, ACL and the empty data folders."""
        conf = self.root / "conf"
        for folder in (conf, self.root / "sessions", self.root / "www"):
            folder.mkdir(parents=True, exist_ok=True)
        for name in _DATA_DIRS:
            (self.data / name).mkdir(parents=True, exist_ok=True)
        (self.root / "www" / "dokuwiki").symlink_to(DOKUWIKI_DIR)
        for name in _CONF_FILES:
            source = _conf_source() / name
            if source.is_file():
                shutil.copy(source, conf / name)
        (self.root / "prepend.php").write_text(
            f"<?php define('DOKU_CONF', '{conf}/'); define('DOKU_MAIN_CONF', '{conf}/');\n",
            encoding="utf-8",
        )
        (conf / "local.php").write_text(
            "<?php\n"
            "$conf['title'] = 'Ops Wiki';\n"
            f"$conf['savedir'] = '{self.data}';\n"
            f"$conf['userewrite'] = {self._userewrite};\n"
            "$conf['useacl'] = 1;\n"
            "$conf['superuser'] = '@admin';\n"
            "$conf['passcrypt'] = 'bcrypt';\n"
            "$conf['remote'] = 1;\n"
            "$conf['remoteuser'] = '@admin,@bots';\n"
            "$conf['dnslookups'] = 0;\n"
            "$conf['disableactions'] = 'register,resendpwd';\n" + self._local,
            encoding="utf-8",
        )
        users = [
            (ADMIN_USER, ADMIN_PASSWORD, "admin,user"),
            (BOT_USER, BOT_PASSWORD, "bots,user"),
            (OUTSIDER_USER, OUTSIDER_PASSWORD, "user"),
        ]
        lines = ["# <?php exit()?>\n"] + [
            f"{name}:{_pwhash(pw)}:{name}:{name}@example.invalid:{groups}\n"
            for name, pw, groups in users
        ]
        (conf / "users.auth.php").write_text("".join(lines), encoding="utf-8")
        self.set_acl("*\t@ALL\t0\n*\t@bots\t1\n*\t@user\t1\n")

    def set_acl(self, rules: str) -> None:
        """Replace the ACL (``<scope>\\t<@group or user>\\t<level>`` lines; 0 none, 1 read)."""
        path = self.root / "conf" / "acl.auth.php"
        path.write_text("# <?php exit()?>\n" + rules, encoding="utf-8")

    def start(self) -> None:
        """Serve the wiki with PHP's built-in server and wait until it answers."""
        log = (self.root / "server.log").open("wb")
        env = {**os.environ, "PHP_CLI_SERVER_WORKERS": "4"}
        self._process = subprocess.Popen(
            [
                "php",
                "-d",
                f"auto_prepend_file={self.root / 'prepend.php'}",
                "-d",
                f"session.save_path={self.root / 'sessions'}",
                "-d",
                "display_errors=0",
                "-S",
                f"127.0.0.1:{self.port}",
                "-t",
                str(self.root / "www"),
            ],
            env=env,
            cwd=self.root,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group: SIGINT to the group lets the master reap its workers.
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 15
        while True:
            try:
                self._proxy(None).dokuwiki.getTitle()
            except xmlrpc.client.Fault:
                return  # it answers (with its remote API off)
            except (OSError, xmlrpc.client.Error) as exc:
                if time.monotonic() > deadline or self._process.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"the wiki did not start; see {self.root}") from exc
                time.sleep(0.03)
            else:
                return

    def stop(self) -> None:
        """Stop the server and its workers (the process group it leads)."""
        if self._process is None:
            return
        group = self._process.pid  # the leader's pid is the group id
        os.killpg(group, signal.SIGINT)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(group, signal.SIGKILL)
            self._process.wait()
        self._process = None

    # Writing pages, as the administrator, through the API (like a person's edit).

    def _proxy(self, user: tuple[str, str] | None) -> xmlrpc.client.ServerProxy:
        auth = f"{user[0]}:{user[1]}@" if user else ""
        url = f"http://{auth}127.0.0.1:{self.port}/dokuwiki/lib/exe/xmlrpc.php"
        return xmlrpc.client.ServerProxy(url, allow_none=True)

    def admin(self, method: str, *args: Any) -> Any:
        """One XML-RPC call as the administrator (basic auth: its password has no ``:``)."""
        return getattr(self._proxy((ADMIN_USER, ADMIN_PASSWORD)), method)(*args)

    def edit(self, page: str, text: str, summary: str = "test") -> None:
        """Create or replace a page (empty ``text`` deletes it); fails unless the wiki says so."""
        answer = self.admin("wiki.putPage", page, text, {"sum": summary, "minor": False})
        if answer is not True:
            raise RuntimeError(f"wiki.putPage({page!r}) answered {answer!r}")

    def delete(self, page: str) -> None:
        """Delete a page, as a person would: save it empty."""
        self.edit(page, "", "removed")

    def edit_later(self, page: str, text: str) -> None:
        """Edit a page in a later second than its last revision (revisions are whole seconds)."""
        info = self.admin("wiki.getPageInfo", page)
        last = int(info.get("version") or 0) if isinstance(info, dict) else 0
        while int(time.time()) <= last:
            time.sleep(0.05)
        self.edit(page, text)

    def write_file(self, page: str, text: str) -> None:
        """Put a page's file straight into ``data/pages`` (no changelog; for bulk set-ups)."""
        path = self.data / "pages" / (page.replace(":", "/") + ".txt")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def pages(self) -> dict[str, int]:
        """Page id -> revision of every page, as the administrator sees them."""
        listing = self.admin("dokuwiki.getPagelist", "", {"depth": 0})
        return {str(page["id"]): int(page["rev"]) for page in listing}
