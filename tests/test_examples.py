"""Example questions: read from JSON Lines, indexed beside their article, and searched."""

from __future__ import annotations

import copy
import json
import logging

from embeddings.build import build_index, index_is_current
from embeddings.examples import Example, read_examples
from embeddings.search import Searcher
from policy_corpus.library import Library
from policy_corpus.store import Store

from .conftest import PROJECT

# An owner's words for 保障中小企业款项支付条例第十九条 (a group may not hide behind its subsidiary), which the
# law's own wording does not come close to.
QUESTION = "子公司拖了我们半年货款，找到集团总部，总部说子公司是独立法人，让我们自己找子公司要"
EXAMPLE = "集团下面的子公司欠钱不还，总部推说是独立法人、不归它管，总部能撒手不管吗？"


def write_examples(folder, lines):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "examples.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_read_examples_skips_bad_lines(tmp_path, caplog):
    folder = write_examples(
        tmp_path / "examples",
        [
            json.dumps({"doc": "payment", "article": 19, "questions": [EXAMPLE, "  "]}, ensure_ascii=False),
            "not json",
            json.dumps(
                {"doc": "hunan", "article": 9, "sub": 1, "questions": ["第九条之一管什么？"]}, ensure_ascii=False
            ),
            json.dumps({"doc": "hunan", "questions": ["no article"]}),
        ],
    )
    with caplog.at_level(logging.WARNING):
        examples = read_examples(folder)
    assert examples == [Example("payment", 19, 0, EXAMPLE), Example("hunan", 9, 1, "第九条之一管什么？")]
    assert sum("line" in record.getMessage() for record in caplog.records) == 2
    assert read_examples(tmp_path / "missing") == [] and read_examples(None) == []


def test_shipped_examples_name_articles_of_the_default_documents(searcher):
    from policy_corpus.sources import from_collection, load_sources

    from .conftest import NATIONAL_ARCHIVE

    examples = read_examples(PROJECT / "policy_corpus" / "examples")
    policy = {e.article_key for e in examples if not from_collection(e.doc_id)}
    national = {e.article_key for e in examples if from_collection(e.doc_id)}
    assert len(examples) > 3000 and len(national) > 500
    assert policy <= set(searcher.article_keys)
    collection = {
        (doc.id, article.number, article.sub)
        for doc in load_sources([NATIONAL_ARCHIVE]).documents
        for article in doc.articles
    }
    assert national <= collection


def rank_of(folder, config, question, key):
    library = Library(config.data_path)
    with Store(library.current_dir() / "store.db", read_only=True) as store:
        build_index(store, folder, config)
        articles = [
            (hit.doc_id, hit.article.number)
            for hit in Searcher.load(folder, config, store).search(question, top_k=10).hits
        ]
    return articles.index(key) + 1 if key in articles else None


def test_an_example_question_brings_its_article_first(indexed_config, tmp_path):
    without = copy.deepcopy(indexed_config)
    without.search.examples = "off"
    with_one = copy.deepcopy(indexed_config)
    with_one.search.examples = str(
        write_examples(
            tmp_path / "examples",
            [
                json.dumps({"doc": "payment", "article": 19, "questions": [EXAMPLE]}, ensure_ascii=False),
                json.dumps({"doc": "payment", "article": 99, "questions": ["没有这一条"]}, ensure_ascii=False),
            ],
        )
    )
    (tmp_path / "off").mkdir()
    (tmp_path / "one").mkdir()
    assert rank_of(tmp_path / "off", without, QUESTION, ("payment", 19)) != 1
    assert rank_of(tmp_path / "one", with_one, QUESTION, ("payment", 19)) == 1
    meta = json.loads((tmp_path / "one" / "index.json").read_text())
    assert meta["examples"] == 1  # payment has no 第九十九条


def test_changed_examples_make_the_index_stale(indexed_config, tmp_path):
    library = Library(indexed_config.data_path)
    assert index_is_current(library.current_dir(), indexed_config)
    changed = copy.deepcopy(indexed_config)
    changed.search.examples = str(
        write_examples(
            tmp_path / "examples",
            [json.dumps({"doc": "payment", "article": 19, "questions": [EXAMPLE]}, ensure_ascii=False)],
        )
    )
    assert not index_is_current(library.current_dir(), changed)  # `policybot ingest` rebuilds it


def first_hit(folder, config, question):
    library = Library(config.data_path)
    with Store(library.current_dir() / "store.db", read_only=True) as store:
        build_index(store, folder, config)
        hit = Searcher.load(folder, config, store).search(question, top_k=1).hits[0]
    return hit.doc_id, hit.article.number, hit.paragraph, hit.item


def test_an_example_question_for_an_item_chooses_the_item_cited(indexed_config, tmp_path):
    """湖南办法第十一条 lists seven ways banks help; its words alone do not single out one for "没有抵押能不能贷款", but a
    question written for （三） (信用贷款) says which item answers it."""
    question = "没有抵押能不能贷款"
    line = {
        "doc": "hunan",
        "article": 11,
        "paragraph": 1,
        "item": 3,
        "questions": ["不用房子抵押，光凭信用能从银行贷到款吗"],
    }
    without = copy.deepcopy(indexed_config)
    without.search.examples = "off"
    with_one = copy.deepcopy(indexed_config)
    with_one.search.examples = str(write_examples(tmp_path / "examples", [json.dumps(line, ensure_ascii=False)]))
    (tmp_path / "off").mkdir()
    (tmp_path / "one").mkdir()
    cited = first_hit(tmp_path / "off", without, question)
    assert cited[:2] == ("hunan", 11) and cited != ("hunan", 11, 1, 3)
    assert first_hit(tmp_path / "one", with_one, question) == ("hunan", 11, 1, 3)
    assert read_examples(tmp_path / "examples")[0].item == 3
