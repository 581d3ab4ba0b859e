"""The assistant: one object that answers questions and lookups from the serving corpus version.

The CLI, the terminal chat and the Telegram bot all hold one Assistant. No Telegram imports.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policy_corpus.citation import Segment, diff_text, short_title
from policy_corpus.config import Config
from policy_corpus.errors import UnknownArticleError, UnknownDocumentError
from policy_corpus.library import Library
from policy_corpus.model import Article, Version, normal_id
from policy_corpus.names import find_documents, narrow_by_article
from policy_corpus.numerals import article_label
from policy_corpus.references import parse_lookup
from policy_corpus.store import DocumentInfo, Store

from .answer import Answer, Citation

DEFAULT_DOCUMENT = "hunan"


@dataclass
class ArticleView:
    """An article with the document it belongs to."""

    doc: DocumentInfo
    article: Article

    @property
    def citation(self) -> Citation:
        return Citation(self.doc.id, self.doc.cite_title, self.article)


@dataclass
class DiffView:
    """What changed from the draft to the current wording of one article."""

    doc: DocumentInfo
    current: Article
    draft: Article | None  # None: the article is new in the current wording
    segments: list[Segment]


@dataclass
class _Serving:
    """One loaded corpus version. Its store is closed once it is retired and no call uses it."""

    version: str
    folder: Path
    store: Store
    searcher: Any = None  # loaded with the version, or on the first question (Assistant(search_at_start=False))
    users: int = 0
    retired: bool = False
    loading: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Held:
    """A corpus version kept open by `Assistant.held()`: its store, and its searcher (loaded on first use)."""

    version: str
    store: Store
    load_searcher: Callable[[], Any] = field(repr=False)

    def searcher(self) -> Any:
        return self.load_searcher()


class Assistant:
    """Answers from the corpus version that is serving; `refresh()` switches to a newer one.

    A question or lookup uses one version from start to end: a switch in the middle lets it
    finish on the old version, whose store is closed only when the last such call is done.
    """

    def __init__(self, config: Config, library: Library | None = None, *, search_at_start: bool = True) -> None:
        """`search_at_start=False`: the search index and model load on the first question, not before (lookups
        such as `policybot article` need neither)."""
        self.config = config
        self.search_at_start = search_at_start
        self.library = library or Library(config.data_path, config.corpus.keep_versions)
        self._lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._serving: _Serving | None = None
        self.refresh()

    # ------------------------------------------------------------ version switching

    @property
    def version(self) -> str | None:
        return self._serving.version if self._serving is not None else None

    @property
    def store(self) -> Store | None:
        return self._serving.store if self._serving is not None else None

    @property
    def searcher(self) -> Any:
        return self._serving.searcher if self._serving is not None else None

    def refresh(self) -> bool:
        """Load the published version if it is not the one loaded; True when it switched."""
        with self._refresh_lock:
            name = self.library.current_name()
            if name is None or name == self.version:
                return False
            folder = self.library.versions_dir / name
            serving = _Serving(name, folder, Store(folder / "store.db", read_only=True))
            if self.search_at_start:
                try:
                    self._load_searcher(serving)
                except BaseException:
                    serving.store.close()
                    raise
            with self._lock:  # swap store and searcher together: a call sees one version or the other
                old, self._serving = self._serving, serving
                close_old = old is not None and old.users == 0
                if old is not None:
                    old.retired = True
            if close_old:
                old.store.close()
            return True

    def _load_searcher(self, serving: _Serving) -> Any:
        with serving.loading:
            if serving.searcher is None:
                from embeddings.search import Searcher

                serving.searcher = Searcher.load(serving.folder, self.config, serving.store)
        return serving.searcher

    @contextmanager
    def _use(self) -> Iterator[_Serving]:
        """The serving version, kept open until the caller is done with it."""
        with self._lock:
            serving = self._serving
            if serving is None:
                raise UnknownDocumentError("还没有发布任何文件：请先运行 policybot ingest。")
            serving.users += 1
        try:
            yield serving
        finally:
            with self._lock:
                serving.users -= 1
                close = serving.retired and serving.users == 0
            if close:
                serving.store.close()

    @contextmanager
    def held(self) -> Iterator[Held | None]:
        """The serving version, kept open until the caller is done, even after a switch (None before anything is
        published): alerts compare the versions before and after a publish with their own search."""
        if self._serving is None:
            yield None
            return
        with self._use() as serving:
            yield Held(serving.version, serving.store, functools.partial(self._load_searcher, serving))

    @property
    def version_dir(self) -> Path:
        return self.library.versions_dir / (self.version or "")

    # ------------------------------------------------------------ questions

    def ask(
        self, question: str, top_k: int | None = None, previous: str | None = None, document: str | None = None
    ) -> Answer:
        """Answer a free-text question with the provisions that apply, or abstain; `previous`: the question a
        follow-up leans on, `document`: the one its answer cited first."""
        top_k = top_k or self.config.search.top_k
        with self._use() as serving:
            searcher = self._load_searcher(serving)
            result = searcher.search(question, top_k=top_k + 5, previous=previous, document=document)
        citations = result.hits
        if result.abstained:
            return Answer(question, True, [], citations, serving.version, declined=result.declined)
        return Answer(question, False, citations[:top_k], citations[top_k:], serving.version)

    # ------------------------------------------------------------ lookups

    def documents(self) -> list[DocumentInfo]:
        with self._use() as serving:
            return serving.store.documents()

    def article(self, doc_id: str, number: int, version: Version = Version.CURRENT, sub: int = 0) -> ArticleView:
        with self._use() as serving:
            store = serving.store
            return ArticleView(store.document(doc_id), store.article(doc_id, number, version, sub))

    def first_article(self, doc_id: str, version: Version = Version.CURRENT) -> Article:
        with self._use() as serving:
            articles = serving.store.articles(doc_id, version)
        if not articles:
            raise UnknownArticleError(f"{doc_id} has no {version.value} articles")
        return articles[0]

    def diff(self, doc_id: str, number: int, sub: int = 0) -> DiffView:
        """Draft → current wording of current article `number` (raises if the document has one version)."""
        with self._use() as serving:
            return self._diff(serving.store, doc_id, number, sub)

    @staticmethod
    def _diff(store: Store, doc_id: str, number: int, sub: int) -> DiffView:
        doc = store.document(doc_id)
        current = store.article(doc_id, number, Version.CURRENT, sub)
        if not doc.draft_count:
            raise UnknownArticleError(f"《{short_title(doc.title)}》只有一个版本，没有修订草案可以比较。")
        if current.paired_number is None:
            return DiffView(doc, current, None, [Segment("+", current.text)])
        draft = store.article(doc_id, current.paired_number, Version.DRAFT)
        return DiffView(doc, current, draft, diff_text(draft.text, current.text))

    def parse_lookup(self, text: str) -> tuple[str, int, int] | None:
        """Recognise typed lookups like 第十一条 or 促进法第十九条: (doc_id, number, sub), else None."""
        lookup = parse_lookup(text)
        if lookup is None:
            return None
        name, number, sub = lookup
        with self._use() as serving:
            store = serving.store
            if not name:
                return self._default_document(store), number, sub
            if not find_documents(name, store.documents()) and name not in store.document_ids():
                return None  # "什么是第十一条" names no document: treat it as a question
            return self._resolve_document(store, name, number), number, sub

    def default_document(self) -> str:
        """The document a bare 第十一条 means: the Hunan measures, or the first document served."""
        with self._use() as serving:
            return self._default_document(serving.store)

    @staticmethod
    def _default_document(store: Store) -> str:
        ids = store.document_ids()
        return DEFAULT_DOCUMENT if DEFAULT_DOCUMENT in ids else ids[0]

    def resolve_document(self, name: str, number: int | None = None, unknown_as_id: bool = False) -> str:
        """A document id from an id or a name people use (促进法, 劳动合同法, 民法典 + article number).

        Names resolve to the version in force; an id reaches any version. `unknown_as_id`: a name that fits no
        document comes back as it is, for a lookup by id to say which ids there are.
        """
        with self._use() as serving:
            return self._resolve_document(serving.store, name, number, unknown_as_id)

    @staticmethod
    def _resolve_document(store: Store, name: str, number: int | None, unknown_as_id: bool = False) -> str:
        doc_id = normal_id(name)
        if doc_id in store.document_ids():
            return doc_id
        # a repealed law is still found by its name, to be shown marked 已废止 with what repealed it
        found = find_documents(name, store.documents(in_force_only=True)) or find_documents(name, store.documents())
        if number is not None:
            found = narrow_by_article(found, number, lambda doc_id, n: store.has_article(doc_id, n))
            if len(found) > 1 and not any(store.has_article(info.id, number) for info in found):
                raise UnknownArticleError(f"没有这一条：“{name}”的各部分都没有{article_label(number)}。")
        if len(found) == 1:
            return found[0].id
        if not found:
            if unknown_as_id:
                return name
            raise UnknownDocumentError(f"没有找到名为“{name}”的文件。")
        names = "、".join(f"{info.id}（{short_title(info.title)}）" for info in found[:5])
        raise UnknownDocumentError(f"“{name}”可能指：{names}。请写得更具体些，或直接用编号。")
