"""Shared fixtures: real documents, real SQLite files in temp folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

PROJECT = Path(__file__).resolve().parent.parent
DOCUMENTS = PROJECT / "policy_corpus" / "documents"
# The tests stand on what the repository ships: the national collection is package data, and the
# SME development questions are a copy of ../shared/eval/dev_questions.jsonl.
NATIONAL_ARCHIVE = PROJECT / "policy_corpus" / "national" / "lawrefbook-national.tar.gz"
DEV_QUESTIONS = PROJECT / "tests" / "data" / "dev_questions.jsonl"


@pytest.fixture
def config(tmp_path):
    """A Config whose data folder is a fresh temp folder."""
    from policy_corpus.config import load_config

    return load_config(PROJECT / "config.yaml", environ={"POLICYBOT_DATA_DIR": str(tmp_path / "data")})


@pytest.fixture
def documents_copy(tmp_path):
    """A writable copy of the default documents folder."""
    import shutil

    target = tmp_path / "documents"
    shutil.copytree(DOCUMENTS, target)
    return target


def extract_laws(names: list[str], target: Path) -> Path:
    """The laws `names` (paths inside the shipped national archive) copied into the folder `target`."""
    import tarfile

    with tarfile.open(NATIONAL_ARCHIVE) as archive:
        for member in archive.getmembers():
            name = member.name.removeprefix("./")
            if name in names:
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                (target / name).write_bytes(archive.extractfile(member).read())
    return target


LONG_DOCUMENT_ID = "long_rules"


def long_document() -> str:
    """A Markdown law whose 第二条 runs to more than 6,000 characters in 13 paragraphs."""
    paragraphs = [
        f"本款为检验长消息分段而设的示范文字第{n}段。"
        + "示范条文用语仅供分段检验，不涉及任何实际规定；" * 20
        + "本段到此结束。"
        for n in range(1, 14)
    ]
    return (
        "# 长条文示范规定\n\n2024年1月1日 施行\n\n<!-- INFO END -->\n\n"
        "第一条 为了检验长条文的显示，制定本规定。\n\n第二条 " + "\n\n".join(paragraphs) + "\n"
    )


@pytest.fixture(scope="session")
def served_config(tmp_path_factory):
    """A published corpus with its search index, built once per session (loading the model takes
    seconds): the default documents plus `long_rules`, whose 第二条 is over 6,000 characters."""
    import shutil

    from embeddings.build import make_index_builder
    from policy_corpus.config import load_config
    from policy_corpus.library import Library
    from policy_corpus.sources import load_sources

    root = tmp_path_factory.mktemp("served")
    documents = root / "documents"
    shutil.copytree(DOCUMENTS, documents)
    (documents / f"{LONG_DOCUMENT_ID}.md").write_text(long_document(), encoding="utf-8")
    config = load_config(PROJECT / "config.yaml", environ={"POLICYBOT_DATA_DIR": str(root / "data")})
    loaded = load_sources([documents])
    assert not loaded.skipped
    Library(config.data_path).publish(loaded.documents, make_index_builder(config))
    return config


@pytest.fixture(scope="session")
def assistant(served_config):
    """One Assistant on the served corpus for the whole session."""
    from bot.assistant import Assistant

    assistant = Assistant(served_config)
    yield assistant
    if assistant.store is not None:
        assistant.store.close()


@pytest.fixture(scope="session")
def indexed_config(tmp_path_factory):
    """A Config whose data folder holds the default corpus, published with a real search index.

    Built once per test session: it loads the embedding model and embeds every article.
    """
    from embeddings.build import make_index_builder
    from policy_corpus.config import load_config
    from policy_corpus.library import Library
    from policy_corpus.sources import load_sources

    data = tmp_path_factory.mktemp("indexed") / "data"
    config = load_config(PROJECT / "config.yaml", environ={"POLICYBOT_DATA_DIR": str(data)})
    Library(config.data_path).publish(load_sources([DOCUMENTS]).documents, make_index_builder(config))
    return config


@pytest.fixture(scope="session")
def searcher(indexed_config):
    from embeddings.search import Searcher
    from policy_corpus.library import Library

    library = Library(indexed_config.data_path)
    store = library.open_store()
    yield Searcher.load(library.current_dir(), indexed_config, store)
    store.close()
