"""Ingest into a real SQLite store: versions, unchanged re-ingest, one-document change, CLI output."""

from __future__ import annotations

import json
import sqlite3

from bot.cli import main
from policy_corpus.library import Library
from policy_corpus.model import Version
from policy_corpus.sources import load_sources

from .conftest import DOCUMENTS


def publish(config, folder=DOCUMENTS):
    library = Library(config.data_path)
    return library, library.publish(load_sources([folder]).documents)


def test_ingest_stores_every_document(config):
    library, result = publish(config)
    assert result.published and result.version == "0001"
    with library.open_store() as store:
        counts = {d.id: (d.current_count, d.draft_count) for d in store.documents()}
        assert counts == {
            "hunan": (35, 38),
            "sme_law": (61, 0),
            "payment": (37, 0),
            "bizenv": (72, 0),
            "sme_size": (10, 0),
        }
        article = store.article("hunan", 16)
        assert article.notes == ["原第十三条第二款"] and article.paired_number == 14
        assert store.article("hunan", 21, Version.DRAFT).status.value == "dropped"


def test_reingest_unchanged_corpus_changes_nothing(config):
    library, first = publish(config)
    store_file = library.current_dir() / "store.db"
    before = store_file.stat().st_mtime_ns
    _, second = publish(config)
    assert not second.published and second.version == first.version
    assert {c.action for c in second.changes} == {"unchanged"}
    assert store_file.stat().st_mtime_ns == before
    assert [v.name for v in library.versions()] == ["0001"]


def test_changed_file_replaces_only_that_document(config, documents_copy):
    library, _ = publish(config, documents_copy)
    law = documents_copy / "payment.md"
    law.write_text(
        law.read_text(encoding="utf-8").replace("第三十七条 本条例自", "第三十七条 本条例（修改后）自"),
        encoding="utf-8",
    )
    _, result = publish(config, documents_copy)
    actions = {c.doc_id: c.action for c in result.changes}
    assert actions == {
        "bizenv": "unchanged",
        "hunan": "unchanged",
        "payment": "changed",
        "sme_law": "unchanged",
        "sme_size": "unchanged",
    }
    with library.open_store() as store:
        assert "（修改后）" in store.article("payment", 37).text
    assert [v.name for v in library.versions()] == ["0002", "0001"]
    # the old version is untouched, for rollback
    old = sqlite3.connect(library.versions_dir / "0001" / "store.db")
    text = old.execute("SELECT text FROM articles WHERE doc_id='payment' AND number=37").fetchone()[0]
    assert "（修改后）" not in text
    assert library.rollback() == "0001"


def test_removed_file_is_removed(config, documents_copy):
    library, _ = publish(config, documents_copy)
    (documents_copy / "bizenv.md").unlink()
    _, result = publish(config, documents_copy)
    assert ("bizenv", "removed") in {(c.doc_id, c.action) for c in result.changes}
    with library.open_store() as store:
        assert store.document_ids() == ["hunan", "payment", "sme_law", "sme_size"]


def test_unfinished_build_is_never_served(config):
    library, result = publish(config)
    (library.versions_dir / ".build-0002").mkdir()
    (library.versions_dir / ".build-0002" / "store.db").write_bytes(b"half written")
    assert Library(config.data_path).current_name() == result.version
    with Library(config.data_path).open_store() as store:
        assert len(store.documents()) == 5


def test_cli_ingest_prints_each_document(config, capsys, monkeypatch):
    monkeypatch.setenv("POLICYBOT_DATA_DIR", str(config.data_path))
    monkeypatch.setattr("bot.cli.make_index_builder", lambda config, **_: None)
    assert main(["ingest", "--corpus", str(DOCUMENTS)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "hunan\t湖南省实施《中华人民共和国中小企业促进法》办法\tcurrent 35, draft 38\tadded" in lines
    assert "sme_law\t中华人民共和国中小企业促进法\tcurrent 61\tadded" in lines


def test_cli_article_json_and_errors(config, capsys, monkeypatch):
    monkeypatch.setenv("POLICYBOT_DATA_DIR", str(config.data_path))
    publish(config)
    assert main(["article", "hunan", "11", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["doc"] == "hunan" and data["number"] == 11 and data["title"] == "金融机构支持"
    assert data["paired_number"] == 10 and data["version"] == "current"
    assert len(data["paragraphs"][0]["items"]) == 7
    assert set(data) >= {
        "doc",
        "doc_title",
        "version",
        "number",
        "title",
        "chapter",
        "paragraphs",
        "notes",
        "paired_number",
    }
    assert main(["article", "hunan", "十", "--version", "draft", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["notes"] == ["对列项的顺序作了调整"]

    assert main(["article", "hunan", "99"]) == 2
    err = capsys.readouterr().err
    assert "没有第九十九条" in err and len(err.strip().splitlines()) == 1
    assert main(["article", "nosuchdoc", "1"]) == 2
    assert "nosuchdoc" in capsys.readouterr().err
    # a name people use works as well as the id
    assert main(["article", "湖南办法", "11", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["doc"] == "hunan"
    assert main(["diff", "湖南办法", "11"]) == 0
    assert "[-银行-]{+金融+}" in capsys.readouterr().out


def test_cli_diff_marks_changes_and_new_articles(config, capsys, monkeypatch):
    monkeypatch.setenv("POLICYBOT_DATA_DIR", str(config.data_path))
    publish(config)
    assert main(["diff", "hunan", "11"]) == 0
    out = capsys.readouterr().out
    assert "[-银行-]{+金融+}" in out and "{+特许经营权融资和+}" in out
    assert main(["diff", "hunan", "10"]) == 0
    assert "新增" in capsys.readouterr().out
    assert main(["diff", "sme_law", "1"]) == 2


def test_cli_without_published_corpus_says_what_to_do(config, capsys, monkeypatch):
    monkeypatch.setenv("POLICYBOT_DATA_DIR", str(config.data_path))
    assert main(["docs"]) == 2
    assert "policybot ingest" in capsys.readouterr().err
