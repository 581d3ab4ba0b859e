"""Staff keep the corpus current: upload a document (preview, then 确认), remove one, reload the
corpus folder from disk, roll back, and read what owners asked. No Telegram imports: the bot's
handlers call this; `policybot ingest` and /reload share policy_corpus.reload.

Every change is published as a new corpus version (`policy_corpus.library`: built in its own
folder, switched in one atomic step, recorded in meta.json and history.jsonl); then the Assistant
switches to it. Questions are answered from the old version until the switch. One refresh runs at
a time: a second one is refused with `RefreshBusyError` rather than queued.

An upload waiting for 确认 stays here, keyed by a short token that the buttons carry
(callback_data is limited to 64 bytes).
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from embeddings.deferred import DenseState, dense_state
from policy_corpus.config import Config
from policy_corpus.errors import (
    BadDocumentIdError,
    DocumentTooLargeError,
    NumberingError,
    UnknownDocumentError,
)
from policy_corpus.library import (
    IndexBuilder,
    NothingPublishedError,
    PublishBusyError,
    PublishResult,
    VersionInfo,
)
from policy_corpus.model import Article, ChangeAction, Document, Version
from policy_corpus.parser import numbering_problems, parse_document
from policy_corpus.reader import FileKind, ReadText, read_document
from policy_corpus.reload import UPLOAD_SOURCE, reload_from_disk
from policy_corpus.size import SIZE_DOCUMENT, check_standard
from policy_corpus.sources import check_document_id, document_id
from policy_corpus.store import Change, DocumentInfo

from .assistant import Assistant
from .confirmations import Confirmations
from .errors import RefreshBusyError, UsageError
from .questionlog import QuestionLog, Stats
from .texts import (
    BUSY_TEXT,
    CONVERTED_TABLES_NOTE,
    OCR_NUMBERING_NOTE,
    SIZE_GONE_WARNING,
    SIZE_RULE_WARNING,
    SOURCE_NOTES,
    VERSION_NAMES,
)

logger = logging.getLogger(__name__)

MAX_ID_CHARS = 60
NUMBERING_PROBLEMS_SHOWN = 10


# ---------------------------------------------------------------- what staff read back


@dataclass
class VersionChanges:
    """One version (现行 / 修订草案) of an uploaded document against the served one."""

    version: Version
    count: int  # articles in the upload
    added: list[str] = field(default_factory=list)  # article labels
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)


@dataclass
class UploadPreview:
    token: str
    doc_id: str
    title: str
    replaces: str | None  # title of the served document it replaces; None for a new one
    versions: list[VersionChanges]
    serving_version: str | None
    source: str = ""  # how the text was read, when it was not plain text: PDF pages, OCR, web page, conversion
    warnings: list[str] = field(default_factory=list)  # e.g. an item of the size standard that cannot be read


@dataclass
class RemovalPreview:
    token: str
    info: DocumentInfo
    from_disk: bool  # a /reload would bring it back while its file is in the corpus folder


class StaffAction(str, enum.Enum):
    """What staff did to the corpus."""

    UPLOAD = "upload"
    REMOVE = "remove"
    RELOAD = "reload"
    ROLLBACK = "rollback"


@dataclass
class Refreshed:
    """What an upload, removal, reload or rollback did to the serving corpus."""

    action: StaffAction
    version: str | None  # serving now
    previous: str | None
    published: bool  # False: nothing changed, nothing was published
    changes: list[Change] = field(default_factory=list)  # added / changed / removed documents
    skipped: list[tuple[str, str]] = field(default_factory=list)  # reload: (file, reason)
    uploads_kept: list[str] = field(default_factory=list)  # reload: files an upload takes precedence over
    undone: list[dict] = field(default_factory=list)  # rollback: the changes of the version left
    warnings: list[str] = field(default_factory=list)  # published, but: an item of the size standard cannot be read


@dataclass
class CorpusOverview:
    version: VersionInfo | None
    documents: list[DocumentInfo]
    older: list[VersionInfo]  # kept for /rollback, newest first
    history: list[dict]  # the last entries of history.jsonl, oldest first
    dense: DenseState | None = None  # how far the serving version's search index is built


@dataclass
class _Pending:
    kind: StaffAction  # UPLOAD or REMOVE
    doc_id: str
    user_id: int
    document: Document | None = None


# ---------------------------------------------------------------- staff actions


class CorpusAdmin:
    """What admins do to the corpus the Assistant serves; thread-safe."""

    def __init__(
        self,
        config: Config,
        assistant: Assistant,
        log: QuestionLog | None = None,
        build_index: IndexBuilder | None = None,
    ) -> None:
        self.config = config
        self.assistant = assistant
        self.library = assistant.library
        self.log = log
        self._build_index = build_index
        self._refresh_lock = threading.Lock()
        self._pending: Confirmations[_Pending] = Confirmations()

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.config.admin.user_ids

    @property
    def build_index(self) -> IndexBuilder:
        if self._build_index is None:
            from embeddings.build import make_index_builder

            self._build_index = make_index_builder(self.config)
        return self._build_index

    # ------------------------------------------------------------ uploads

    def upload_id(self, file_name: str | None, caption: str | None) -> str:
        """The document id an upload is for: its caption, else its file name without the suffix."""
        lines = (caption or "").strip().splitlines()
        given = lines[0].strip() if lines else ""
        if not given:
            if not file_name:
                raise UsageError("请在文件的说明（caption）里写上文件编号，如 test_rules。")
            given = _stem(file_name)
        if len(given) > MAX_ID_CHARS:
            raise BadDocumentIdError(
                f"文件编号太长（{len(given)} 个字符，上限 {MAX_ID_CHARS}）。请在说明里写一个简短的编号。"
            )
        return check_document_id(given, allow_folders=False)

    def check_size(self, size: int | None) -> None:
        """Refuse a file over admin.max_upload_bytes (called before downloading, and after)."""
        limit = self.config.admin.max_upload_bytes
        if size is not None and size > limit:
            raise DocumentTooLargeError(
                f"文件太大（{_size(size)}），上限是 {_size(limit)}。请删去无关内容或拆分后再上传。"
            )

    def prepare_upload(
        self,
        data: bytes,
        doc_id: str,
        file_name: str | None,
        user_id: int,
        progress: Callable[[int, int], None] | None = None,
    ) -> UploadPreview:
        """Read and parse an upload and compare it with the served document; nothing is published.
        `progress(done, total)` follows OCR of a scanned PDF page by page."""
        self.check_size(len(data))
        label = file_name or doc_id
        read = read_document(data, label, progress)
        doc = parse_document(read.text, doc_id, UPLOAD_SOURCE + label)
        problems = numbering_problems(doc)
        if problems:
            shown = "\n".join(f"• {_in_chinese(p)}" for p in problems[:NUMBERING_PROBLEMS_SHOWN])
            more = (
                f"\n…另有 {len(problems) - NUMBERING_PROBLEMS_SHOWN} 处"
                if len(problems) > NUMBERING_PROBLEMS_SHOWN
                else ""
            )
            ocr = OCR_NUMBERING_NOTE if read.kind == FileKind.OCR else ""
            raise NumberingError(f"《{doc.title}》的条号不连贯，未收录。请核对后重新上传：\n{shown}{more}{ocr}")
        serving = self.library.current_name()
        served = {info.id: info for info in self.library.served_documents()}
        old = served.get(doc_id)
        if old is not None and old.content_hash == doc.content_hash:
            raise UsageError(f"《{doc.title}》与正在服务的版本完全相同，无需更新。")
        old_articles: list[Article] = []
        if old is not None:
            with self.library.open_store() as store:
                old_articles = store.articles(doc_id, version=None)
        token = self._pending.remember(_Pending(StaffAction.UPLOAD, doc_id, user_id, doc))
        logger.info("admin %s previewed an upload for %s", user_id, doc_id)
        return UploadPreview(
            token,
            doc_id,
            doc.title,
            old.title if old else None,
            compare_articles(old_articles, doc.articles),
            serving,
            source_note(read),
            standard_warnings(doc.articles) if doc_id == SIZE_DOCUMENT else [],
        )

    # ------------------------------------------------------------ removal

    def prepare_removal(self, doc_id: str, user_id: int) -> RemovalPreview:
        served = self.library.served_documents()
        info = next((i for i in served if i.id == doc_id), None)
        if info is None:
            raise UnknownDocumentError(f"没有编号为 {doc_id} 的文件。发送 /corpus 查看文件编号。")
        if len(served) == 1:
            raise UsageError("这是语料中唯一的文件，不能删除。")
        token = self._pending.remember(_Pending(StaffAction.REMOVE, doc_id, user_id))
        return RemovalPreview(token, info, not info.source.startswith(UPLOAD_SOURCE))

    # ------------------------------------------------------------ confirm / cancel

    def confirm(self, token: str, user_id: int) -> Refreshed:
        """确认: publish the pending upload or removal, then switch the Assistant to it."""
        with self._refreshing():
            pending = self._pending.take(token)
            previous = self.library.current_name()
            if pending.kind == StaffAction.UPLOAD:
                result = self.library.publish_update(
                    [pending.document], (), self.build_index, published_by=str(user_id), note=f"upload {pending.doc_id}"
                )
            else:
                result = self.library.publish_update(
                    (), [pending.doc_id], self.build_index, published_by=str(user_id), note=f"remove {pending.doc_id}"
                )
            self._switch(previous)
            logger.info("admin %s published version %s (%s %s)", user_id, result.version, pending.kind, pending.doc_id)
            refreshed = Refreshed(pending.kind, result.version, previous, result.published, _changed(result))
            refreshed.warnings = self._size_warnings(refreshed.changes)
            return refreshed

    def check_pending(self, token: str) -> None:
        """Raise ExpiredError unless `token` is an upload or removal waiting for 确认."""
        self._pending.peek(token)

    def cancel(self, token: str) -> str:
        """取消: forget the pending upload or removal; returns its document id."""
        return self._pending.take(token).doc_id

    # ------------------------------------------------------------ reload and rollback

    def reload(self, user_id: int) -> Refreshed:
        """/reload: re-ingest the corpus folder(s) from disk and publish what changed."""
        with self._refreshing():
            from embeddings.build import served_index_is_stale

            previous = self.library.current_name()
            # edited example questions (or a new model) make the serving index stale: rebuilt though no file changed
            reloaded = reload_from_disk(
                self.library,
                self.config.source_paths,
                self.build_index,
                published_by=str(user_id),
                force=served_index_is_stale(self.library, self.config),
            )
            if reloaded.result.published:
                self._switch(previous)
                logger.info("admin %s reloaded the corpus: version %s", user_id, reloaded.result.version)
            refreshed = Refreshed(
                StaffAction.RELOAD,
                reloaded.result.version,
                previous,
                reloaded.result.published,
                _changed(reloaded.result),
                reloaded.skipped,
                reloaded.uploads_kept,
            )
            refreshed.warnings = self._size_warnings(refreshed.changes)
            return refreshed

    def rollback(self, user_id: int) -> Refreshed:
        """/rollback: serve the version the current one was published over."""
        with self._refreshing():
            previous = self.library.current_name()
            left = self.library.version_info(previous) if previous else None
            try:
                target = self.library.rollback(by=str(user_id))
            except NothingPublishedError:
                raise UsageError("没有保留更早的版本，无法回退。") from None
            self._switch(previous)
            logger.info("admin %s rolled back from version %s to %s", user_id, previous, target)
            return Refreshed(StaffAction.ROLLBACK, target, previous, True, undone=left.changes if left else [])

    # ------------------------------------------------------------ reading

    def overview(self, history: int = 5) -> CorpusOverview:
        """/corpus: the serving version, its documents, the versions kept, the latest history."""
        name = self.assistant.version
        versions = self.library.versions()
        current = next((v for v in versions if v.name == name), None)
        return CorpusOverview(
            current,
            self.assistant.documents(),
            [v for v in versions if v.name != name],
            self.library.history(history),
            dense_state(self.library),
        )

    def stats(self, days: int) -> Stats:
        if self.log is None:
            raise UsageError("没有启用问题记录。")
        return self.log.stats(days)

    # ------------------------------------------------------------ internals

    def _size_warnings(self, changes: list[Change]) -> list[str]:
        """After a publish that changed the size standard (sme_size): each item of its 第四条 that cannot be read,
        or that it is gone. The publish stands: the other industries, and every other document, still serve."""
        change = next((c for c in changes if c.doc_id == SIZE_DOCUMENT), None)
        if change is None:
            return []
        if change.action == ChangeAction.REMOVED:
            return [SIZE_GONE_WARNING]
        with self.library.open_store() as store:
            return standard_warnings(store.articles(SIZE_DOCUMENT))

    @contextmanager
    def _refreshing(self) -> Iterator[None]:
        if not self._refresh_lock.acquire(blocking=False):
            raise RefreshBusyError(BUSY_TEXT)
        timeout, self.library.lock_timeout = self.library.lock_timeout, 0  # staff are told, not kept waiting
        try:
            yield
        except PublishBusyError:  # `policybot ingest` is publishing in another process
            raise RefreshBusyError(BUSY_TEXT) from None
        finally:
            self.library.lock_timeout = timeout
            self._refresh_lock.release()

    def _switch(self, previous: str | None) -> None:
        """Load the newly serving version; if it cannot be loaded, point back to `previous`."""
        try:
            self.assistant.refresh()
        except Exception:
            if previous is not None and self.library.current_name() != previous:
                logger.error("version %s could not be loaded: serving %s again", self.library.current_name(), previous)
                self.library.restore(previous, by="policybot", action="restore")
            raise


def compare_articles(old: list[Article], new: list[Article]) -> list[VersionChanges]:
    """Per version: articles added, removed and changed (text or 【title】) from `old` to `new`."""

    def keyed(articles: list[Article], version: Version) -> dict[tuple[int, int], Article]:
        return {(a.number, a.sub): a for a in articles if a.version is version}

    found = []
    for version in Version:
        before, after = keyed(old, version), keyed(new, version)
        if not before and not after:
            continue
        found.append(
            VersionChanges(
                version,
                len(after),
                added=[a.label for key, a in after.items() if key not in before],
                removed=[a.label for key, a in before.items() if key not in after],
                changed=[
                    a.label
                    for key, a in after.items()
                    if key in before and (before[key].text, before[key].title) != (a.text, a.title)
                ],
            )
        )
    return found


def standard_warnings(articles: list[Article]) -> list[str]:
    """The size standard's items that cannot be read, as staff are told (each names its item: 第四条第（十）项)."""
    current = [article for article in articles if article.version is Version.CURRENT]
    return [SIZE_RULE_WARNING.format(problem=problem) for problem in check_standard(current)]


def source_note(read: ReadText) -> str:
    """One line for the preview on how the text was read (PDF, OCR, web page, conversion, tables); empty
    for plain text and a .docx without tables."""
    if read.kind == FileKind.DOCX and not read.tables:
        return ""
    if read.kind in (FileKind.DOC, FileKind.WPS) and read.tables:
        template = CONVERTED_TABLES_NOTE
    else:
        template = SOURCE_NOTES.get(read.kind, "")
    return template.format(
        pages=read.pages,
        ocr_pages=read.ocr_pages,
        seconds=f"{read.seconds:.1f}",
        encoding=read.encoding,
        tables=read.tables,
        suffix=f".{read.kind.value}",
    )


def _changed(result: PublishResult) -> list[Change]:
    return [change for change in result.changes if change.action != ChangeAction.UNCHANGED] if result.published else []


def _in_chinese(problem: str) -> str:
    """numbering_problems names the version in English ("current: 跳号…"): staff read Chinese."""
    for version in Version:
        if problem.startswith(f"{version.value}: "):
            return f"{VERSION_NAMES[version]}：{problem[len(version.value) + 2 :]}"
    return problem


def _stem(file_name: str) -> str:
    try:
        return document_id(file_name)
    except ValueError:  # "..", "" and the like: check_document_id says what is wrong
        return file_name


def _size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB"
    return f"{size / 1024:.1f} KB"
