"""A Markdown tree read from a git repository that syncd fetches itself (``options.git``).

snapshot
    One run reads one commit: the first thing it does is one fetch of the configured ref
    (its remote's default branch when none is given); everything after reads git objects of
    that commit, never a checkout.

version
    A page's blob id (the hash of its exact bytes), with a short digest of the source's
    options, so changing them re-reads every page. Listing reads no file.

fingerprint
    The id of the tree at the configured folder, with the same options digest. A run whose
    tree equals the last complete run's is a no-op after its fetch; a force-push to a commit
    with the same tree is one too. Trees are compared, never history.

identity
    A file keeps the external id it was first published under when git sees it renamed
    (``git diff-tree -M`` between the last listed tree and this one, 50% similarity), so its
    Intercom page is updated in place; a path that a renamed file's page still holds gets its
    own id when a new file takes that path. The moves, and the commit and tree last listed,
    are the connector's memory (:class:`~syncd.connectors.base.Memory`, key
    ``git.identities``), kept in the state database. The cache folder holds only the bare
    repository: when it is lost, the next fetch also brings the last listed commit back (one
    more shallow fetch, by its id), so renames are still followed. A remote that no longer
    has that commit (history rewritten, then collected) is logged, and its renames since the
    last run become a delete plus a create.

A page kept in Git LFS (a pointer blob) fails alone with a message; its text is never sent.

Failures to reach the remote, log in, find the ref or the folder raise
:class:`~syncd.connectors.base.SourceUnavailable`: the engine deletes nothing. An empty tree
is a listing like any other, so the engine's mass-deletion guard judges it.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path, PurePosixPath
from typing import Any

import pydantic
import structlog

from syncd.connectors.base import DocumentError, Memory, SourceUnavailable
from syncd.connectors.markdown import git, giturl
from syncd.connectors.markdown.git import Entry, GitError, GitStopped, Remote, Repository
from syncd.connectors.markdown.gitblobs import Blobs
from syncd.errors import Interrupted
from syncd.net.plaintext import refuse_plain_http

log = structlog.get_logger(__name__)

_REGULAR_MODES = frozenset({"100644", "100755"})  # not 120000 (symlink) or 160000 (submodule)
_MEMORY_KEY = "git.identities"
_OLD_STATE_FILE = "identities.json"  # where earlier versions kept it, in the cache folder
_LFS_POINTER = b"version https://git-lfs.github.com/spec/"


class GitOptions(pydantic.BaseModel):
    """``options.git`` of a Markdown source: the repository syncd fetches itself."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    url: str
    ref: str | None = None  # a branch, or a full ref (refs/tags/v2); default: the remote's HEAD
    token: pydantic.SecretStr | None = None
    username: str = "x-access-token"  # the user name sent with the token (GitLab: oauth2)
    ssh_key_file: Path | None = None
    known_hosts_file: Path | None = None
    timeout: float = pydantic.Field(default=120.0, gt=0, le=3600)

    @pydantic.field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if git.mask(value) != value:
            # Not echoed: the value holds a secret.
            raise ValueError("the URL holds credentials; give the token as git.token instead")
        giturl.check_url(value)
        return value

    @pydantic.field_validator("token")
    @classmethod
    def _token(
        cls, value: pydantic.SecretStr | None, info: pydantic.ValidationInfo
    ) -> pydantic.SecretStr | None:
        # ${GIT_TOKEN:-} with the variable unset: a public repository, no login.
        if value is None or not value.get_secret_value():
            return None
        if isinstance(url := info.data.get("url"), str):
            refuse_plain_http(url, what="the git token", context=info.context)
        return value

    @pydantic.field_validator("ref")
    @classmethod
    def _ref(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or value.startswith("-") or ":" in value):
            raise ValueError("expected a branch name (main) or a full ref (refs/tags/v2)")
        return value

    def full_ref(self) -> str | None:
        """The configured ref as a full ref name, None for the remote's default branch."""
        if self.ref is None:
            return None
        return self.ref if self.ref.startswith("refs/") else f"refs/heads/{self.ref}"

    def remote(self) -> Remote:
        """The remote, with the token revealed for git's environment only."""
        return Remote(
            url=self.url,
            token=self.token.get_secret_value() if self.token is not None else None,
            username=self.username,
            ssh_key_file=self.ssh_key_file,
            known_hosts_file=self.known_hosts_file,
            timeout=self.timeout,
        )


def valid_folder(folder: str) -> str:
    """The folder inside the repository as git names it ("" for the root); ValueError if bad."""
    path = PurePosixPath(folder.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts:
        raise ValueError("with git, path is a folder inside the repository, like content/docs")
    return "" if str(path) == "." else str(path)


class GitTree:
    """The fetched snapshot of one git source, for one run."""

    def __init__(
        self,
        options: GitOptions,
        folder: str,
        cache_dir: Path,
        salt: str,
        *,
        memory: Memory,
        stop: threading.Event | None = None,
    ) -> None:
        self.options = options
        self.folder = folder
        self.cache_dir = cache_dir
        self.salt = salt
        self.memory = memory
        self._commit: str | None = None
        self.repository = Repository(cache_dir / "repo.git", options.remote(), stop)
        self._ref: str | None = None
        self._tree: str | None = None
        self._entries: dict[str, Entry] | None = None
        self._folders: dict[str, list[str]] | None = None
        self._ids: dict[str, str] = {}
        self._blobs: Blobs | None = None
        self._where = git.mask(options.url)

    # -- the snapshot ----------------------------------------------------------------------

    def fingerprint(self) -> str:
        """Fetch once per run and name the tree read; SourceUnavailable if that fails."""
        if self._tree is None:
            self._fetch()
        assert self._tree is not None
        return f"git:{self._tree}:{self.salt}"

    def _fetch(self) -> None:
        state = self._state()
        ref = self.options.full_ref()
        try:
            # One ls-remote first (over authenticated HTTP: the unauthenticated probe, the
            # advertisement, ls-refs), and the fetch only when the ref moved: a no-op run
            # makes 3 requests instead of 4, and a changed one 7.
            if ref is None:
                ref, remote = self.repository.default_head()
                if state.get("ref") not in (None, ref):
                    log.warning("git.default_branch_changed", old=state.get("ref"), new=ref)
            else:
                remote = self.repository.remote_commit(ref)
            if remote is None or remote != self.repository.held(git.HEAD_REF):
                self.repository.fetch(ref)  # an absent ref fails here, with git's reason
            tree = self.repository.tree(git.HEAD_REF, self.folder)
            self._commit = self.repository.commit(git.HEAD_REF)
        except GitStopped as exc:  # the run is stopping: not the source's fault
            raise Interrupted(str(exc)) from None
        except GitError as exc:
            raise SourceUnavailable(
                f"cannot fetch {ref or 'HEAD'} from {self._where}: {exc}"
            ) from None
        except OSError as exc:  # no git installed, or the cache folder cannot be made
            raise SourceUnavailable(f"cannot fetch from {self._where}: {exc}") from None
        if tree is None:
            raise SourceUnavailable(f"{self.folder!r} is not a folder at {ref} of {self._where}")
        self._tree, self._ref = tree, ref
        log.debug("git.fetched", ref=ref, tree=tree)

    # -- listing ---------------------------------------------------------------------------

    def entries(self) -> dict[str, Entry]:
        """Every regular file of the snapshot by path below the folder, renames applied."""
        if self._entries is None:
            self.fingerprint()
            assert self._tree is not None
            try:
                # Listing means the tree changed: objects came in, so let git tidy up.
                self.repository.maintain()
                entries = {
                    e.path: e for e in self.repository.files(self._tree) if e.mode in _REGULAR_MODES
                }
                self._ids = self._follow_renames(entries)
                self.repository.set_ref(git.LAST_REF, git.HEAD_REF)
            except GitStopped as exc:  # the run is stopping: not the source's fault
                raise Interrupted(str(exc)) from None
            except GitError as exc:
                raise SourceUnavailable(f"cannot list {self._where}: {exc}") from None
            except OSError as exc:
                raise SourceUnavailable(
                    f"cannot write to the cache {self.cache_dir}: {exc.strerror}"
                ) from None
            self._entries = entries
        return self._entries

    def version(self, entry: Entry) -> str:
        """The listed version of a file."""
        return f"{entry.sha}:{self.salt}"

    def _follow_renames(self, entries: dict[str, Entry]) -> dict[str, str]:
        """The moved files' external ids, updated with what git sees since the last listing."""
        state = self._state()
        ids: dict[str, str] = dict(state.get("ids") or {})
        last = state.get("tree")
        if isinstance(last, str) and last != self._tree and self._recover(last, state):
            assert self._tree is not None
            changes = self.repository.renames(last, self._tree)
            for status, old, new in changes:
                if status == "R":
                    identity = ids.pop(old, old)
                    if identity != new:
                        ids[new] = identity
                elif status == "D":
                    ids.pop(old, None)
            held = set(ids.values())
            for status, _, new in changes:
                if status == "A" and new in held and new not in ids and new in entries:
                    # A new file at a path whose old page moved on: it needs an id of its own.
                    ids[new] = f"{new}@{entries[new].sha[:12]}"
        ids = {path: identity for path, identity in ids.items() if path in entries}
        self._save_state({"ref": self._ref, "commit": self._commit, "tree": self._tree, "ids": ids})
        return ids

    def _recover(self, tree: str, state: dict[str, Any]) -> bool:
        """Whether the last listed tree is at hand, fetching its commit again if the cache
        lost it (a new volume); False, logged, when the remote no longer has it."""
        if self.repository.has_object(tree):
            return True
        commit = state.get("commit")
        if not isinstance(commit, str):
            return False
        try:
            self.repository.fetch_commit(commit)
        except GitStopped as exc:  # the run is stopping: not the source's fault
            raise Interrupted(str(exc)) from None
        except GitError as exc:
            log.warning(
                "git.renames_not_followed",
                commit=commit,
                reason=f"the last listed commit cannot be fetched again: {exc}",
                hint="a file renamed since the last run is published as a new page",
            )
            return False
        log.info("git.last_commit_fetched_again", commit=commit, reason="not in the cache")
        return self.repository.has_object(tree)

    def identity(self, path: str) -> str | None:
        """The external id a moved file keeps, None for the path's own."""
        return self._ids.get(path)

    def children(self, folder: str) -> list[str]:
        """The names of the files directly in ``folder`` ("" for the root), sorted."""
        if self._folders is None:
            folders: dict[str, list[str]] = {}
            for path in self.entries():
                parent, _, name = path.rpartition("/")
                folders.setdefault(parent, []).append(name)
            self._folders = {key: sorted(names) for key, names in folders.items()}
        return self._folders.get(folder, [])

    # -- reading ---------------------------------------------------------------------------

    def read(self, path: str, limit: int) -> bytes:
        """The bytes of the file at ``path`` in the snapshot; DocumentError names it."""
        entry = self.entries().get(path)
        if entry is None:
            raise DocumentError(f"{path}: not a file at the fetched commit")
        if self._blobs is None:
            repository = self.repository
            self._blobs = Blobs(repository.path, env=repository.env, timeout=self.options.timeout)
        try:
            data = self._blobs.read(entry.sha, limit=limit)
        except GitStopped as exc:  # the run is stopping: not the source's fault
            raise Interrupted(str(exc)) from None
        except GitError as exc:
            raise DocumentError(f"{path}: cannot be read from git: {exc}") from None
        if data is None:
            raise DocumentError(f"{path}: larger than {limit // 2**20} MiB")
        if data.startswith(_LFS_POINTER):
            # The blob names content kept elsewhere; its text is no page.
            raise DocumentError(f"{path}: stored in Git LFS, whose content syncd does not fetch")
        return data

    def remote_commit(self) -> str:
        """The commit the remote's ref names now, by one ``git ls-remote``; no fetch, no lock.

        SourceUnavailable when the remote cannot be asked or lacks the ref.
        """
        ref = self.options.full_ref()
        try:
            if ref is None:
                ref, commit = self.repository.default_head()
            else:
                commit = self.repository.remote_commit(ref)
        except GitStopped as exc:  # the run is stopping: not the source's fault
            raise Interrupted(str(exc)) from None
        except GitError as exc:
            raise SourceUnavailable(f"cannot ask {self._where} for its head: {exc}") from None
        except OSError as exc:
            raise SourceUnavailable(f"cannot ask {self._where} for its head: {exc}") from None
        if commit is None:
            raise SourceUnavailable(f"{self._where} has no {ref}")
        return commit

    def close(self) -> None:
        """Stop the blob reader."""
        if self._blobs is not None:
            self._blobs.close()
            self._blobs = None

    # -- memory in the state database ------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        text = self.memory.get(_MEMORY_KEY)
        if text is None:
            # Kept in the cache folder by earlier versions: taken over once (the next save
            # goes to the memory, which is read first from then on).
            try:
                text = (self.cache_dir / _OLD_STATE_FILE).read_text(encoding="utf-8")
            except OSError:
                return {}
        try:
            data = json.loads(text)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def _save_state(self, state: dict[str, Any]) -> None:
        self.memory.put(_MEMORY_KEY, json.dumps(state, sort_keys=True))
