"""Published corpus versions on disk, switched atomically.

    data/
      CURRENT                 name of the version being served (written to a temp file, then os.replace)
      versions/0003/          one folder per published version: store.db, the search index, meta.json
      versions/.build-0004/   a version being built; never served, removed by the next publish
      history.jsonl           one line per publish, rollback and restore: who, when, what changed

A publish copies the serving store into a new folder, applies the changes there in one transaction,
builds the index, and only then switches CURRENT. A crash at any point leaves the last published
version serving (see HAZARDS.md: replacing a live SQLite file in place loses data).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock, Timeout

from .errors import UnknownDocumentError
from .model import ChangeAction, Document, Version
from .store import Change, DocumentInfo, Store

STORE_FILE = "store.db"
META_FILE = "meta.json"
POINTER_FILE = "CURRENT"
HISTORY_FILE = "history.jsonl"
LOCK_FILE = "publish.lock"  # held while a process publishes or switches versions
IndexBuilder = Callable[[Store, Path], None]


@dataclass
class VersionInfo:
    name: str
    published_at: float
    published_by: str
    parent: str | None
    changes: list[dict] = field(default_factory=list)
    note: str = ""


@dataclass
class PublishResult:
    version: str | None  # the version now serving
    published: bool  # False when nothing changed
    changes: list[Change]


logger = logging.getLogger(__name__)


class NothingPublishedError(Exception):
    """No corpus version has been published yet in this data folder."""


class PublishBusyError(Exception):
    """Another process is publishing in this data folder."""


class Library:
    """The data folder: which corpus version is serving, and how to publish a new one."""

    def __init__(self, data_dir: str | Path, keep_versions: int = 5, lock_timeout: float | None = None) -> None:
        """`lock_timeout`: how long a publish waits for another process's publish to end (None: as long
        as it takes; 0: not at all), before raising PublishBusyError."""
        self.data_dir = Path(data_dir)
        self.versions_dir = self.data_dir / "versions"
        self.keep_versions = keep_versions
        self.lock_timeout = lock_timeout

    # ------------------------------------------------------------ reading

    def current_name(self) -> str | None:
        pointer = self.data_dir / POINTER_FILE
        if not pointer.exists():
            return None
        name = pointer.read_text(encoding="utf-8").strip()
        return name if (self.versions_dir / name / META_FILE).exists() else None

    def current_dir(self) -> Path:
        name = self.current_name()
        if name is None:
            raise NothingPublishedError(
                f"no corpus has been published in {self.data_dir}: run `policybot ingest` first"
            )
        return self.versions_dir / name

    def open_store(self) -> Store:
        """A read-only Store on the serving version."""
        return Store(self.current_dir() / STORE_FILE, read_only=True)

    def versions(self) -> list[VersionInfo]:
        """Published versions, newest first."""
        infos = []
        for folder in self.versions_dir.glob("[0-9]*"):
            meta = folder / META_FILE
            if meta.exists():
                infos.append(VersionInfo(**json.loads(meta.read_text(encoding="utf-8"))))
        return sorted(infos, key=lambda info: info.name, reverse=True)

    def version_info(self, name: str) -> VersionInfo | None:
        meta = self.versions_dir / name / META_FILE
        if not meta.exists():
            return None
        return VersionInfo(**json.loads(meta.read_text(encoding="utf-8")))

    def history(self, limit: int | None = None) -> list[dict]:
        """What happened to the corpus, oldest first (the last `limit` entries).

        A line cut short by a crash is skipped: meta.json of each version stays the authority.
        """
        path = self.data_dir / HISTORY_FILE
        if not path.exists():
            return []
        entries = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue
        return entries[-limit:] if limit else entries

    # ------------------------------------------------------------ writing

    @contextmanager
    def publishing(self) -> Iterator[None]:
        """Hold the data folder's publish lock: one process publishes at a time, and none removes
        another's build in progress."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.data_dir / LOCK_FILE)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if self.lock_timeout == 0:
                raise PublishBusyError(
                    f"another process is publishing in {self.data_dir}; try again when it is done"
                ) from None
            logger.warning("another process is publishing in %s: waiting for it to finish", self.data_dir)
            try:
                lock.acquire(timeout=-1 if self.lock_timeout is None else self.lock_timeout)
            except Timeout:
                raise PublishBusyError(
                    f"another process is still publishing in {self.data_dir} after "
                    f"{self.lock_timeout:.0f} s; try again when it is done"
                ) from None
        try:
            yield
        finally:
            lock.release()

    def publish(
        self,
        docs: list[Document],
        build_index: IndexBuilder | None = None,
        *,
        published_by: str = "cli",
        remove_missing: bool = True,
        force: bool = False,
        note: str = "",
    ) -> PublishResult:
        """Publish `docs` as a new version, unless nothing changed (then nothing is written)."""
        with self.publishing():
            return self._publish(docs, build_index, published_by, remove_missing, force, note)

    def _publish(
        self,
        docs: list[Document],
        build_index: IndexBuilder | None,
        published_by: str,
        remove_missing: bool,
        force: bool,
        note: str,
    ) -> PublishResult:
        parent = self.current_name()
        if parent is not None and not force:
            with Store(self.versions_dir / parent / STORE_FILE, read_only=True) as store:
                if _unchanged(store, docs, remove_missing):
                    changes = [
                        Change(d.id, ChangeAction.UNCHANGED, d.title, d.count(Version.CURRENT), d.count(Version.DRAFT))
                        for d in docs
                    ]
                    return PublishResult(parent, False, changes)
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        self._remove_stale_builds()
        name = self._next_name()
        build = self.versions_dir / f".build-{name}"
        build.mkdir()
        if parent is not None:
            _copy_sqlite(self.versions_dir / parent / STORE_FILE, build / STORE_FILE)
        with Store(build / STORE_FILE) as store:
            changes = store.put_documents(docs, remove_missing=remove_missing)
            if build_index is not None:
                build_index(store, build)
        info = VersionInfo(
            name,
            time.time(),
            published_by,
            parent,
            [asdict(c) for c in changes if c.action != ChangeAction.UNCHANGED],
            note,
        )
        _write_atomic(build / META_FILE, json.dumps(asdict(info), ensure_ascii=False, indent=1))
        _fsync_dir(build)
        os.replace(build, self.versions_dir / name)
        self._point_to(name)
        self._record(
            {
                "action": "publish",
                "version": name,
                "parent": parent,
                "by": published_by,
                "changes": info.changes,
                "note": note,
            }
        )
        self._prune()
        return PublishResult(name, True, changes)

    def publish_update(
        self,
        add: Sequence[Document] = (),
        remove: Collection[str] = (),
        build_index: IndexBuilder | None = None,
        *,
        published_by: str = "cli",
        force: bool = False,
        note: str = "",
    ) -> PublishResult:
        """Publish the serving version with `add` added or replaced and `remove` taken out.

        Every other served document stays as it is, in its place; new documents go last.
        """
        served = self.served_documents()
        served_ids = {info.id for info in served}
        missing = [doc_id for doc_id in remove if doc_id not in served_ids]
        if missing:
            raise UnknownDocumentError(f"没有编号为 {'、'.join(missing)} 的文件。")
        given = {doc.id: doc for doc in add}
        docs = [given.pop(info.id, None) or _kept(info) for info in served if info.id not in remove]
        docs += list(given.values())
        result = self.publish(
            docs, build_index, published_by=published_by, force=force, note=note, remove_missing=bool(remove)
        )
        counts = {info.id: (info.current_count, info.draft_count) for info in served}
        added = {doc.id for doc in add}
        for change in result.changes:  # a kept document has no articles in memory: use the stored counts
            if change.doc_id in counts and change.doc_id not in added and change.action == ChangeAction.UNCHANGED:
                change.current_count, change.draft_count = counts[change.doc_id]
        return result

    def served_documents(self) -> list[DocumentInfo]:
        """The documents of the serving version, in corpus order (none before the first publish)."""
        if self.current_name() is None:
            return []
        with self.open_store() as store:
            return store.documents()

    def rollback(self, *, by: str = "cli") -> str:
        """Serve the version the current one was published over (else the next older one kept).

        Returns its name. After a rollback and a new publish, rolling back again returns to what
        was serving before that publish, not to the version that was rolled back.
        """
        current = self.current_name()
        info = self.version_info(current) if current else None
        kept = {v.name for v in self.versions()}
        if info is not None and info.parent in kept:
            target = info.parent
        else:
            older = sorted((name for name in kept if current is None or name < current), reverse=True)
            if not older:
                raise NothingPublishedError("no earlier version is kept to roll back to")
            target = older[0]
        self.restore(target, by=by, action="rollback")
        return target

    def restore(self, name: str, *, by: str = "cli", action: str = "restore") -> None:
        """Serve the kept version `name` again (recorded in the history)."""
        with self.publishing():
            if self.version_info(name) is None:
                raise NothingPublishedError(f"version {name} is not kept")
            previous = self.current_name()
            self._point_to(name)
            self._record({"action": action, "version": name, "from": previous, "by": by})

    def _record(self, entry: dict) -> None:
        """Append one line to the history (after the switch: the switch is what matters)."""
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        line = json.dumps({"at": stamp, **entry}, ensure_ascii=False) + "\n"
        with open(self.data_dir / HISTORY_FILE, "a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())

    def _point_to(self, name: str) -> None:
        _write_atomic(self.data_dir / POINTER_FILE, name + "\n")

    def _next_name(self) -> str:
        numbers = [
            int(p.name.rsplit("-", 1)[-1]) for p in self.versions_dir.iterdir() if p.name.rsplit("-", 1)[-1].isdigit()
        ]
        return f"{max(numbers, default=0) + 1:04d}"

    def _remove_stale_builds(self) -> None:
        for folder in self.versions_dir.glob(".build-*"):
            shutil.rmtree(folder, ignore_errors=True)

    def _prune(self) -> None:
        current = self.current_name()
        for info in self.versions()[self.keep_versions :]:
            if info.name != current:
                shutil.rmtree(self.versions_dir / info.name, ignore_errors=True)


def _kept(info: DocumentInfo) -> Document:
    """A served document that stays as it is.

    Its articles are not loaded: `Store.put_documents` leaves a document whose content hash is
    unchanged alone (it only sets its position), so nothing of it is rewritten.
    """
    return Document(
        id=info.id,
        title=info.title,
        articles=[],
        source=info.source,
        kind=info.kind,
        primary=info.primary,
        dates=info.dates,
        content_hash=info.content_hash,
    )


def _unchanged(store: Store, docs: list[Document], remove_missing: bool) -> bool:
    stored = {info.id: info.content_hash for info in store.documents()}
    given = {doc.id: doc.content_hash for doc in docs}
    if remove_missing:
        return stored == given
    return all(stored.get(doc_id) == digest for doc_id, digest in given.items())


def _copy_sqlite(source: Path, target: Path) -> None:
    """Copy a live SQLite database consistently (the backup API, not a file copy)."""
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    with open(temp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
