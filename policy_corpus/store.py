"""The corpus store: documents and articles in one SQLite file, through sqlite-utils."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from .citation import short_title
from .errors import UnknownArticleError, UnknownDocumentError
from .model import Article, ChangeAction, Document, DocumentKind, DraftStatus, Item, Paragraph, Version, normal_id
from .numerals import article_label
from .repeal import interpreted_law, not_yet_in_force, repealed_laws, replaced_series, takes_effect

IDS_LISTED = 12  # an unknown id's error lists the ids, up to this many


@dataclass
class DocumentInfo:
    """A document's row, without its articles: what listings need."""

    id: str
    title: str
    cite_title: str
    source: str
    kind: DocumentKind
    content_hash: str
    dates: list[str]
    current_count: int
    draft_count: int
    law: str = ""
    version_date: str = ""
    in_force: bool = True  # False: a newer version of the same law is in the corpus
    primary: bool = True  # one of the policy documents, rather than background national law
    repealed_by: str = (
        ""  # 《促进个体工商户发展条例》第三十九条: the article of a later law in the corpus that repeals it
    )
    takes_effect: str = ""  # YYYY-MM-DD, for a law not in force yet because it takes effect later

    @property
    def national(self) -> bool:
        """Served beside the policy documents as general law (the one meaning of "national law")."""
        return not self.primary


@dataclass
class Change:
    """What one ingest did to one document."""

    doc_id: str
    action: ChangeAction
    title: str = ""
    current_count: int = 0
    draft_count: int = 0


class Store:
    """A corpus version's SQLite file. One Store per thread (SQLite connections are per thread)."""

    def __init__(self, path: str | Path, read_only: bool = False) -> None:
        self.path = Path(path)
        if read_only:
            conn = _connect_read_only(self.path)
            self.db = sqlite_utils.Database(conn)
        else:
            self.db = sqlite_utils.Database(self.path)
            self.db.execute("PRAGMA busy_timeout = 5000")
            self._create_tables()

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:  # noqa: PYI034 -- typing.Self needs Python 3.11; we support 3.10
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _create_tables(self) -> None:
        columns = {
            "id": str,
            "title": str,
            "cite_title": str,
            "part": str,
            "source": str,
            "kind": str,
            "content_hash": str,
            "dates": str,
            "current_count": int,
            "draft_count": int,
            "position": int,
            "law": str,
            "version_date": str,
            "in_force": int,
            "primary_source": int,
            "repealed_by": str,
            "takes_effect": str,
        }
        if "documents" not in self.db.table_names():
            self.db["documents"].create(columns, pk="id")
        else:  # a store copied from an older version of policybot: add what it lacks
            existing = set(self.db["documents"].columns_dict)
            for name, kind in columns.items():
                if name not in existing:
                    self.db["documents"].add_column(name, kind)
        if "articles" not in self.db.table_names():
            self.db["articles"].create(
                {
                    "key": str,
                    "doc_id": str,
                    "version": str,
                    "number": int,
                    "sub": int,
                    "label": str,
                    "title": str,
                    "chapter": str,
                    "text": str,
                    "paragraphs": str,
                    "notes": str,
                    "paired_number": int,
                    "status": str,
                    "position": int,
                },
                pk="key",
                foreign_keys=[("doc_id", "documents", "id")],
            )
            self.db["articles"].create_index(["doc_id", "version", "number", "sub"], unique=True)

    # ------------------------------------------------------------ writing

    def put_documents(self, docs: list[Document], remove_missing: bool = True) -> list[Change]:
        """Store the given documents; unchanged ones (same content hash) are left alone.

        All changes happen in one transaction, so a reader never sees half a document.
        """
        stored = {row["id"]: row["content_hash"] for row in self.db["documents"].rows}
        changes: list[Change] = []
        with self.db.conn:
            for position, doc in enumerate(docs):
                counts = {"current_count": doc.count(Version.CURRENT), "draft_count": doc.count(Version.DRAFT)}
                if stored.get(doc.id) == doc.content_hash:
                    self.db["documents"].update(doc.id, {"position": position})
                    changes.append(Change(doc.id, ChangeAction.UNCHANGED, doc.title, **counts))
                    continue
                action = ChangeAction.CHANGED if doc.id in stored else ChangeAction.ADDED
                self._replace_document(doc, position)
                changes.append(Change(doc.id, action, doc.title, **counts))
            if remove_missing:
                wanted = {doc.id for doc in docs}
                for doc_id in sorted(set(stored) - wanted):
                    self._delete_document(doc_id)
                    changes.append(Change(doc_id, ChangeAction.REMOVED))
            self._mark_versions_in_force()
        return changes

    def _mark_versions_in_force(self) -> None:
        """Of several versions of one law, the latest that has taken effect is in force (on a tie, the one listed
        first); then a law that a later law in force repeals (《…》同时废止) is not, nor an interpretation of it, nor an
        old series of interpretations a new （一） replaces (policy_corpus/repeal.py)."""
        rows = list(self.db.query("SELECT id, title, law, version_date, position, dates, cite_title FROM documents"))
        closing: dict[str, list[str]] = {}
        query = "SELECT doc_id, text FROM articles WHERE version = ? AND text LIKE '%起施行%'"
        for article in self.db.query(query, [Version.CURRENT.value]):
            closing.setdefault(article["doc_id"], []).append(article["text"])
        effective = {
            row["id"]: takes_effect(json.loads(row["dates"] or "[]"), closing.get(row["id"], [])) for row in rows
        }
        pending = {doc_id for doc_id, day in effective.items() if not_yet_in_force(day)}
        best: dict[str, tuple[str, int, str]] = {}
        for row in rows:
            if row["id"] in pending:
                continue
            law = row["law"] or row["id"]
            candidate = (row["version_date"] or "", -row["position"], row["id"])
            if law not in best or candidate > best[law]:
                best[law] = candidate
        in_force = sorted(doc_id for _, _, doc_id in best.values())
        self.db.execute("UPDATE documents SET in_force = 0, repealed_by = '', takes_effect = ''")
        for start in range(0, len(in_force), 500):  # one statement per chunk, not one per document
            chunk = in_force[start : start + 500]
            self.db.execute(f"UPDATE documents SET in_force = 1 WHERE id IN ({','.join('?' * len(chunk))})", chunk)
        for doc_id in sorted(pending):
            self.db.execute("UPDATE documents SET takes_effect = ? WHERE id = ?", [effective[doc_id], doc_id])
        self._mark_repeals(rows, set(in_force))

    def _mark_repeals(self, rows: list[dict], in_force: set[str]) -> None:
        by_id = {row["id"]: row for row in rows}
        repeals: dict[str, tuple[str, str]] = {}  # law → (citation of the repealing article, its law's date)
        query = "SELECT doc_id, number, sub, text FROM articles WHERE version = ? AND text LIKE '%废止%'"
        for article in self.db.query(query, [Version.CURRENT.value]):
            repealer = by_id.get(article["doc_id"])
            if repealer is None or repealer["id"] not in in_force:
                continue
            citation = f"《{short_title(repealer['cite_title'])}》{article_label(article['number'], article['sub'])}"
            for law in repealed_laws(article["text"]):
                if law != (repealer["law"] or repealer["id"]):
                    repeals.setdefault(law, (citation, repealer["version_date"] or ""))
        for row in rows:
            # an interpretation of a repealed law (关于适用《合同法》…的解释) lapses with it
            found = repeals.get(row["law"] or "") or repeals.get(interpreted_law(row["title"] or ""))
            # a law is only repealed by a later one (an old law naming a still older one with the same title is not)
            if found is not None and row["version_date"] and found[1] and row["version_date"] < found[1]:
                self._mark_repealed(row["id"], found[0])
        current = [row for row in rows if row["id"] in in_force]
        replaced = replaced_series([(row["id"], row["title"] or "", row["version_date"] or "") for row in current])
        for doc_id, new_first in replaced.items():
            self._mark_repealed(doc_id, f"《{short_title(by_id[new_first]['cite_title'])}》")

    def _mark_repealed(self, doc_id: str, by: str) -> None:
        self.db.execute("UPDATE documents SET in_force = 0, repealed_by = ? WHERE id = ?", [by, doc_id])

    def remove_document(self, doc_id: str) -> None:
        with self.db.conn:
            self._delete_document(doc_id)

    def _delete_document(self, doc_id: str) -> None:
        self.db.execute("DELETE FROM articles WHERE doc_id = ?", [doc_id])
        self.db.execute("DELETE FROM documents WHERE id = ?", [doc_id])

    def _replace_document(self, doc: Document, position: int) -> None:
        self._delete_document(doc.id)
        self.db["documents"].insert(
            {
                "id": doc.id,
                "title": doc.title,
                "cite_title": doc.cite_title,
                "part": doc.part,
                "source": doc.source,
                "kind": doc.kind.value,
                "content_hash": doc.content_hash,
                "dates": json.dumps(doc.dates, ensure_ascii=False),
                "current_count": doc.count(Version.CURRENT),
                "draft_count": doc.count(Version.DRAFT),
                "position": position,
                "law": doc.law,
                "version_date": doc.version_date,
                "in_force": 1,
                "primary_source": int(doc.primary),
            }
        )
        self.db["articles"].insert_all(
            _article_row(doc.id, article, position) for position, article in enumerate(doc.articles)
        )

    # ------------------------------------------------------------ reading

    def documents(self, in_force_only: bool = False) -> list[DocumentInfo]:
        # stores published before versions were tracked have no in_force column: all are in force
        has_column = "in_force" in self.db["documents"].columns_dict
        where = "in_force = 1" if in_force_only and has_column else None
        return [_document_info(row) for row in self.db["documents"].rows_where(where, order_by="position")]

    def document(self, doc_id: str) -> DocumentInfo:
        """The document with id `doc_id`, typed in any width (…解释（一） finds …解释(一))."""
        rows = list(self.db["documents"].rows_where("id = ?", [normal_id(doc_id)]))
        if not rows:
            raise UnknownDocumentError(self._unknown_document(doc_id))
        return _document_info(rows[0])

    def _unknown_document(self, doc_id: str) -> str:
        """Why `doc_id` names no document, with the ids to use: all of a few, or those containing what was typed
        (劳动合同法 → 社会法/劳动合同法(2012-12-28)) among a collection's hundreds."""
        typed = normal_id(doc_id).strip()
        said = f"没有编号为“{typed}”的文件。" if typed else "没有给出文件编号。"
        ids = self.document_ids()
        if len(ids) <= IDS_LISTED:
            return f"{said}可用的文件：{', '.join(ids)}"
        # those whose folder or name starts with it first (民法典 → 民法典/总则, not the interpretations that cite it)
        near = sorted(
            (id_ for id_ in ids if typed and typed in id_), key=lambda id_: (not _part_starts(id_, typed), len(id_))
        )
        near = near[:IDS_LISTED]
        if near:
            return f"{said}编号里有“{typed}”的：{', '.join(near)}（共 {len(ids)} 个文件）"
        return f"{said}共有 {len(ids)} 个文件，编号形如 {ids[0]}、{ids[-1]}。"

    def document_ids(self) -> list[str]:
        return [row["id"] for row in self.db.query("SELECT id FROM documents ORDER BY position")]

    def article(self, doc_id: str, number: int, version: Version = Version.CURRENT, sub: int = 0) -> Article:
        info = self.document(doc_id)
        rows = self._article_rows(info.id, version, number, sub)
        if not rows:
            raise UnknownArticleError(
                f"《{short_title(info.title)}》没有{article_label(number, sub)}（{_counts(info)}）。"
            )
        return article_from_row(rows[0])

    def indexed_article(self, doc_id: str, number: int, sub: int = 0) -> Article:
        """The current wording of an article named by a search index's key (its document id exactly as stored):
        one query, without looking the document up first as `article` does for ids typed by people."""
        rows = self._article_rows(doc_id, Version.CURRENT, number, sub)
        if not rows:
            raise UnknownArticleError(
                f"{doc_id} 没有{article_label(number, sub)}：索引与文件库不一致，请重新运行 policybot ingest。"
            )
        return article_from_row(rows[0])

    def _article_rows(self, doc_id: str, version: Version, number: int, sub: int) -> list[dict]:
        return list(
            self.db["articles"].rows_where(
                "doc_id = ? AND version = ? AND number = ? AND sub = ?", [doc_id, version.value, number, sub]
            )
        )

    def has_article(self, doc_id: str, number: int, version: Version = Version.CURRENT) -> bool:
        return bool(
            list(
                self.db.query(
                    "SELECT 1 FROM articles WHERE doc_id = ? AND version = ? AND number = ? LIMIT 1",
                    [normal_id(doc_id), version.value, number],
                )
            )
        )

    def articles(self, doc_id: str | None = None, version: Version | None = Version.CURRENT) -> list[Article]:
        where, args = [], []
        if doc_id is not None:
            where.append("doc_id = ?")
            args.append(normal_id(doc_id))
        if version is not None:
            where.append("version = ?")
            args.append(version.value)
        rows = self.db["articles"].rows_where(" AND ".join(where) or None, args, order_by="position")
        return [article_from_row(row) for row in rows]

    def article_rows(self, version: Version = Version.CURRENT) -> list[dict]:
        """Raw rows of the laws in force, in corpus order, for building the search index."""
        in_force = {info.id for info in self.documents(in_force_only=True)}
        rows = self.db.query(
            "SELECT a.* FROM articles a JOIN documents d ON d.id = a.doc_id "
            "WHERE a.version = ? ORDER BY d.position, a.position",
            [version.value],
        )
        return [row for row in rows if row["doc_id"] in in_force]


def _part_starts(doc_id: str, text: str) -> bool:
    """Whether a part of `doc_id` (a folder, the name) starts with `text`."""
    return any(part.startswith(text) for part in doc_id.split("/"))


def article_from_row(row: dict) -> Article:
    paragraphs = [
        Paragraph(
            number=p["number"], text=p["text"], items=[Item(number=i["number"], text=i["text"]) for i in p["items"]]
        )
        for p in json.loads(row["paragraphs"])
    ]
    return Article(
        number=row["number"],
        sub=row["sub"],
        paragraphs=paragraphs,
        version=Version(row["version"]),
        title=row["title"],
        chapter=row["chapter"],
        notes=json.loads(row["notes"]),
        paired_number=row["paired_number"],
        status=DraftStatus(row["status"]) if row["status"] else None,
    )


def article_key(doc_id: str, version: Version, number: int, sub: int = 0) -> str:
    return f"{doc_id}|{version.value}|{number}|{sub}"


def _article_row(doc_id: str, article: Article, position: int) -> dict:
    row = article.as_dict()
    return {
        "key": article_key(doc_id, article.version, article.number, article.sub),
        "doc_id": doc_id,
        **row,
        "paragraphs": json.dumps(row["paragraphs"], ensure_ascii=False),
        "notes": json.dumps(row["notes"], ensure_ascii=False),
        "position": position,
    }


def _document_info(row: dict) -> DocumentInfo:
    return DocumentInfo(
        id=row["id"],
        title=row["title"],
        cite_title=row["cite_title"],
        source=row["source"],
        kind=DocumentKind(row["kind"]),
        content_hash=row["content_hash"],
        dates=json.loads(row["dates"]),
        current_count=row["current_count"],
        draft_count=row["draft_count"],
        law=row.get("law") or "",
        version_date=row.get("version_date") or "",
        in_force=row.get("in_force") is None or bool(row["in_force"]),
        repealed_by=row.get("repealed_by") or "",
        takes_effect=row.get("takes_effect") or "",
        primary=row.get("primary_source") is None or bool(row["primary_source"]),
    )


def _counts(info: DocumentInfo) -> str:
    if info.draft_count:
        return f"二次审议稿共 {info.current_count} 条，修订草案共 {info.draft_count} 条"
    return f"共 {info.current_count} 条"


def _connect_read_only(path: Path):
    import sqlite3

    if not path.exists():
        raise FileNotFoundError(f"corpus store {path} does not exist: run `policybot ingest` first")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    return conn
