"""A real private MediaWiki on 127.0.0.1, built from the Debian packages, for tests.

Each :class:`MediaWikiServer` is a fresh wiki in its own folder: ``install.php`` writes a
SQLite database and a ``LocalSettings.php`` there, MediaWiki finds that file through the
``MW_CONFIG_FILE`` environment variable, and PHP's built-in server answers on a free loopback
port. Nothing is written outside the folder. A fresh wiki takes about two seconds.

The wiki is private (anonymous visitors may not read) and has two bot passwords:

* ``SyncBot@sync``, what the connector logs in with (grants: basic, high-volume);
* ``Admin@tests``, what the tests edit, move and delete pages with.

Bot passwords must match ``[0-9a-w]{32,}``: anything else is silently treated as a main-account
password and refused.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

MEDIAWIKI_DIR = Path(os.environ.get("MEDIAWIKI_DIR", "/usr/share/mediawiki"))
INSTALL_HINT = (
    "MediaWiki is not installed: apt-get install mediawiki php-sqlite3 php-cli"
    " (or run .ci/install-mediawiki.sh)"
)

BOT_USER = "SyncBot@sync"
BOT_PASSWORD = "0123456789abcdefghijklmnopqrstuv"
BOT_MAIN_PASSWORD = "SyncB0t-Passw0rd!"  # the bot account's own password, not a bot password
ADMIN_BOT_USER = "Admin@tests"
ADMIN_BOT_PASSWORD = "abcdefghijklmnopqrstuvw012345678"
_ADMIN_PASSWORD = "Adm1n-Passw0rd!"

# Appended to the generated LocalSettings.php. The permission lines are MediaWiki's "simple
# private wiki" (https://www.mediawiki.org/wiki/Manual:Preventing_access).
_SETTINGS = """
$wgUploadDirectory = "{root}/images";
$wgEnableUploads = true;
$wgMainCacheType = CACHE_NONE;
$wgUseImageMagick = false;
$wgEnableBotPasswords = true;
$wgGroupPermissions['*']['read'] = false;
$wgGroupPermissions['*']['edit'] = false;
$wgGroupPermissions['*']['createaccount'] = false;
$wgWhitelistRead = [ 'Special:UserLogin' ];
$wgRateLimits = [];
"""


def missing_reason() -> str | None:
    """Why a wiki cannot be started here, or None when everything needed is installed."""
    if shutil.which("php") is None:
        return INSTALL_HINT
    if not (MEDIAWIKI_DIR / "maintenance" / "install.php").is_file():
        return INSTALL_HINT
    modules = subprocess.run(["php", "-m"], capture_output=True, text=True, check=False).stdout
    if "pdo_sqlite" not in modules.split():
        return INSTALL_HINT
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class MediaWikiServer:
    """A fresh private wiki served on 127.0.0.1; a context manager that starts and stops it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = _free_port()
        self.server_url = f"http://127.0.0.1:{self.port}"
        self.api_url = f"{self.server_url}/api.php"
        self._process: subprocess.Popen[bytes] | None = None
        self._admin: httpx.Client | None = None
        self._env = {
            **os.environ,
            "MW_CONFIG_FILE": str(root / "LocalSettings.php"),
            "PHP_CLI_SERVER_WORKERS": "4",
        }

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

    def _php(self, *args: str, stdin: bytes | None = None) -> None:
        script = str(MEDIAWIKI_DIR / "maintenance" / args[0])
        done = subprocess.run(
            ["php", script, *args[1:]],
            input=stdin,
            capture_output=True,
            env=self._env,
            cwd=self.root,
            check=False,
            timeout=120,
        )
        if done.returncode != 0:
            output = (done.stdout + done.stderr).decode(errors="replace")
            raise RuntimeError(f"{args[0]} failed ({done.returncode}):\n{output}")

    def install(self) -> None:
        """Create the database, the settings, the users and their bot passwords."""
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        (self.root / "images").mkdir(exist_ok=True)
        self._php(
            "install.php",
            "--dbtype=sqlite",
            f"--dbpath={self.root / 'data'}",
            "--dbname=testwiki",
            f"--server={self.server_url}",
            "--scriptpath=",
            "--lang=en",
            f"--pass={_ADMIN_PASSWORD}",
            f"--confpath={self.root}",
            "--skins=Vector",
            "Test Wiki",
            "Admin",
        )
        with (self.root / "LocalSettings.php").open("a", encoding="utf-8") as settings:
            settings.write(_SETTINGS.replace("{root}", str(self.root)))
        name, app = BOT_USER.split("@")
        self._php("createAndPromote.php", "--bot", name, BOT_MAIN_PASSWORD)
        self._php(
            "createBotPassword.php",
            f"--appid={app}",
            "--grants=basic,highvolume",
            name,
            BOT_PASSWORD,
        )
        admin, admin_app = ADMIN_BOT_USER.split("@")
        self._php(
            "createBotPassword.php",
            f"--appid={admin_app}",
            "--grants=basic,highvolume,editpage,createeditmovepage,uploadfile,delete",
            admin,
            ADMIN_BOT_PASSWORD,
        )

    def import_images(self, folder: Path) -> None:
        """Upload every image file of ``folder`` under its own name."""
        self._php("importImages.php", "--user=Admin", str(folder))

    def run_jobs(self) -> None:
        """Run the wiki's queued jobs now (link tables, cache invalidation after edits)."""
        self._php("runJobs.php")

    def start(self) -> None:
        """Serve the wiki with PHP's built-in server and wait until it answers."""
        log = (self.root / "server.log").open("wb")
        self._process = subprocess.Popen(
            ["php", "-S", f"127.0.0.1:{self.port}", "-t", str(MEDIAWIKI_DIR)],
            env=self._env,
            cwd=self.root,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group: the workers outlive a signal to the master alone.
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 15
        while True:
            try:
                httpx.get(self.api_url, timeout=2)
            except httpx.TransportError as exc:
                if time.monotonic() > deadline or self._process.poll() is not None:
                    self.stop()
                    log_path = self.root / "server.log"
                    raise RuntimeError(f"the wiki did not start; see {log_path}") from exc
                time.sleep(0.05)
            else:
                return

    def stop(self) -> None:
        """Stop the server and its workers (the process group it leads)."""
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        if self._process is not None:
            group = self._process.pid  # the leader's pid is the group id
            os.killpg(group, signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(group, signal.SIGKILL)
                self._process.wait()
            self._process = None

    # Writing pages, as an administrator, through the API.

    def _client(self) -> httpx.Client:
        if self._admin is None:
            client = httpx.Client(base_url=self.server_url, timeout=60)
            token = self.api("GET", client, action="query", meta="tokens", type="login")
            self.api(
                "POST",
                client,
                action="login",
                lgname=ADMIN_BOT_USER,
                lgpassword=ADMIN_BOT_PASSWORD,
                lgtoken=token["query"]["tokens"]["logintoken"],
            )
            self._admin = client
        return self._admin

    @staticmethod
    def api(method: str, client: httpx.Client, **params: Any) -> dict[str, Any]:
        """One API call; raises on an error answer."""
        params = {**params, "format": "json", "formatversion": 2}
        if method == "POST":
            response = client.post("/api.php", data=params)
        else:
            response = client.get("/api.php", params=params)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        if "error" in answer:
            raise RuntimeError(f"API {params.get('action')} failed: {answer['error']}")
        if answer.get("login", {}).get("result") not in (None, "Success"):
            raise RuntimeError(f"admin login failed: {answer['login']}")
        return answer

    def _write(self, **params: Any) -> dict[str, Any]:
        client = self._client()
        token = self.api("GET", client, action="query", meta="tokens")["query"]["tokens"]
        return self.api("POST", client, token=token["csrftoken"], **params)

    def edit(self, title: str, text: str) -> int:
        """Create or replace a page; its page id."""
        answer = self._write(action="edit", title=title, text=text, summary="test", bot=1)
        return int(answer["edit"]["pageid"])

    def move(self, old: str, new: str, *, leave_redirect: bool = True) -> None:
        """Rename a page (it keeps its page id)."""
        extra = {} if leave_redirect else {"noredirect": 1}
        self._write(action="move", **{"from": old}, to=new, reason="test", **extra)

    def delete(self, title: str) -> None:
        """Delete a page."""
        self._write(action="delete", title=title, reason="test")

    def page_ids(self, namespace: int = 0, *, redirects: bool = True) -> dict[str, int]:
        """Title -> page id of the pages of a namespace (redirects too, unless told not to)."""
        answer = self.api(
            "GET",
            self._client(),
            action="query",
            list="allpages",
            apnamespace=namespace,
            apfilterredir="all" if redirects else "nonredirects",
            aplimit="max",
        )
        return {page["title"]: page["pageid"] for page in answer["query"]["allpages"]}
