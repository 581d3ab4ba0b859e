"""Reloading the corpus folder: `policybot ingest` and the bot's /reload publish what is on disk
over the serving version, keeping what staff uploaded through the bot."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import CorpusError
from .library import IndexBuilder, Library, PublishResult
from .sources import document_id, load_sources

UPLOAD_SOURCE = "telegram:"  # Document.source of an uploaded document: a reload keeps it


class NoDocumentsError(CorpusError):
    """The corpus folder holds no document with articles; nothing was published."""

    def __init__(self, paths: list[Path], skipped: list[tuple[str, str]]) -> None:
        self.paths = paths
        self.skipped = skipped
        reasons = "".join(f"\n• {name}：{reason}" for name, reason in skipped[:10])
        super().__init__(
            f"语料文件夹里没有找到含条文的文件（{', '.join(map(str, paths))}），正在服务的语料不变。{reasons}"
        )


@dataclass
class Reloaded:
    result: PublishResult
    skipped: list[tuple[str, str]]
    uploads_kept: list[str]


def reload_from_disk(
    library: Library,
    paths: list[Path],
    build_index: IndexBuilder | None,
    *,
    published_by: str = "cli",
    force: bool = False,
) -> Reloaded:
    """Publish the documents in `paths` over the serving version.

    Documents uploaded through the bot stay (an upload takes precedence over a file with the same
    id), a file that no longer parses keeps its served version, and a document whose file is gone,
    or that is no law at all (a court case an older version served), is removed.
    """
    loaded = load_sources(paths)
    if not loaded.documents:
        raise NoDocumentsError(paths, loaded.skipped)
    served = library.served_documents()
    uploaded = {info.id for info in served if info.source.startswith(UPLOAD_SOURCE)}
    broken = {_skipped_id(name) for name, _ in loaded.skipped} - loaded.not_laws
    on_disk = {doc.id for doc in loaded.documents}
    add = [doc for doc in loaded.documents if doc.id not in uploaded]
    remove = [info.id for info in served if info.id not in uploaded | on_disk | broken]
    result = library.publish_update(add, remove, build_index, published_by=published_by, force=force, note="reload")
    return Reloaded(result, loaded.skipped, sorted(on_disk & uploaded))


def _skipped_id(name: str) -> str:
    try:
        return document_id(name)
    except ValueError:
        return name
