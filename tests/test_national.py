"""Every Markdown file of the national collection parses; numbering gaps are reported with a reason."""

from __future__ import annotations

from policy_corpus.library import Library
from policy_corpus.parser import numbering_problems, parse_document
from policy_corpus.reload import reload_from_disk
from policy_corpus.sources import CASE_SKIPPED, iter_source, load_sources

from .conftest import NATIONAL_ARCHIVE, extract_laws


def test_whole_collection_parses(capsys):
    files = list(iter_source(NATIONAL_ARCHIVE))
    assert len(files) >= 1500
    loaded = load_sources([NATIONAL_ARCHIVE])
    total = sum(len(doc.articles) for doc in loaded.documents)
    # files with no articles (amendment lists) are skipped with a reason, never an exception; so are court cases,
    # though some quote the articles they apply (a case is not a provision to cite)
    assert len(loaded.documents) + len(loaded.skipped) == len(files)
    cases = [name for name, reason in loaded.skipped if reason == CASE_SKIPPED]
    assert len(cases) >= 50 and all(name.startswith("案例/") for name in cases)
    assert "案例/消费购物/吴某与某电子商务有限公司买卖合同纠纷案.md" in cases  # quotes 第六条: parsed as a law before
    assert not any(doc.id.startswith("案例/") for doc in loaded.documents)
    assert all("没有找到条文" in reason or reason == CASE_SKIPPED for _, reason in loaded.skipped)
    assert total > 64000
    report = {doc.id: numbering_problems(doc) for doc in loaded.documents}
    broken = {doc_id: problems for doc_id, problems in report.items() if problems}
    with capsys.disabled():
        print(
            f"\nnational collection: {len(files)} files, {len(loaded.documents)} laws, {total} articles, "
            f"{len(loaded.skipped)} without articles, {len(broken)} with non-consecutive numbering:"
        )
        for doc_id, problems in sorted(broken.items()):
            print(f"  {doc_id}: {'; '.join(problems[:3])}")
    assert len(broken) < 20
    codes = {doc.id: doc for doc in loaded.documents if doc.id.startswith("民法典/")}
    assert codes["民法典/合同编"].cite_title == "中华人民共和国民法典"
    assert codes["民法典/合同编"].articles[0].number == 463
    assert "民法典/合同编" not in broken
    assert "诉讼与非诉讼程序法/刑事诉讼法(2018-10-26)" not in broken  # "第一百二十八 条" is read


CASE = "案例/消费购物/吴某与某电子商务有限公司买卖合同纠纷案.md"


def test_a_court_case_an_older_version_served_is_removed_on_reload(tmp_path):
    """Older versions parsed a case quoting 第六条 of an interpretation as a law of its own: the next reload removes
    it, while a law that stops parsing would keep its served version."""
    collection = extract_laws([CASE, "社会法/劳动合同法(2012-12-28).md"], tmp_path / "collection")
    case_id = CASE.removesuffix(".md")
    text = (collection / CASE).read_text(encoding="utf-8")
    library = Library(tmp_path / "data")
    law = load_sources([collection]).documents
    library.publish([*law, parse_document(text, case_id, CASE)])
    assert case_id in {info.id for info in library.served_documents()}
    reloaded = reload_from_disk(library, [collection], None)
    served = {info.id for info in library.served_documents()}
    assert case_id not in served and "社会法/劳动合同法(2012-12-28)" in served
    assert (CASE, CASE_SKIPPED) in reloaded.skipped
