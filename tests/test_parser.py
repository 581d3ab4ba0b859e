"""The parser on every shipped document: counts, items, notes, pairing, numerals."""

from __future__ import annotations

import pytest

from policy_corpus.errors import NoArticlesError
from policy_corpus.model import DraftStatus, Version
from policy_corpus.numerals import article_label, cn_to_int, int_to_cn, parse_article_ref
from policy_corpus.parser import numbering_problems, parse_document, split_notes
from policy_corpus.reader import decode_document

from .conftest import DOCUMENTS


def load(name: str):
    path = DOCUMENTS / name
    return parse_document(decode_document(path.read_bytes(), name), path.stem, name)


@pytest.mark.parametrize(
    "name, current, draft",
    [("hunan.txt", 35, 38), ("sme_law.md", 61, 0), ("payment.md", 37, 0), ("bizenv.md", 72, 0)],
)
def test_article_counts_per_version(name, current, draft):
    doc = load(name)
    assert doc.count(Version.CURRENT) == current
    assert doc.count(Version.DRAFT) == draft
    numbers = [a.number for a in doc.articles if a.version is Version.CURRENT]
    assert numbers == list(range(1, current + 1))


def test_hunan_title_and_header_lines_are_not_articles():
    doc = load("hunan.txt")
    assert doc.title == "湖南省实施《中华人民共和国中小企业促进法》办法"
    assert doc.kind == "comparison"
    assert all("会议文件" not in a.text and "阴影部分" not in a.text for a in doc.articles)
    assert doc.article(35).text == "本办法自 年 月 日起施行。"  # 制作时间 is not law text
    assert "制作时间：2020年9月16日" in doc.dates


def test_hunan_current_11_has_seven_items_and_mentions_renewal():
    article = load("hunan.txt").article(11)
    assert article.title == "金融机构支持"
    assert len(article.paragraphs) == 2
    items = article.paragraphs[0].items
    assert [i.number for i in items] == [1, 2, 3, 4, 5, 6, 7]
    assert "无还本续贷" in items[6].text
    assert article.paragraphs[1].text.startswith("金融机构发放贷款时不得附加不合理条件")
    assert article.paired_number == 10


def test_editorial_notes_are_kept_apart_from_law_text():
    doc = load("hunan.txt")
    current16 = doc.article(16)
    assert "原第十三条第二款" in current16.notes
    assert "原第十三条" not in current16.text
    draft10 = doc.article(10, Version.DRAFT)
    assert draft10.notes == ["对列项的顺序作了调整"]
    assert draft10.paragraphs[0].items[6].text.endswith("推广网上贷、掌上贷等线上融资产品。")
    current21 = doc.article(21)  # the note stands on a line of its own there
    assert "原第十三条第一款" in current21.notes and "原第" not in current21.text
    for article in doc.articles:
        for note in ("移至", "原第", "作了调整", "顺序对调"):
            assert note not in article.text, (article.label, note)


def test_new_revised_moved_and_dropped_articles():
    doc = load("hunan.txt")
    assert doc.article(10).paired_number is None  # 产融合作白名单 is new
    assert doc.article(12).paired_number is None and doc.article(13).paired_number is None
    assert doc.article(14).paired_number == 11
    assert doc.article(29).paired_number == 31
    assert doc.article(35).paired_number == 38
    draft13 = doc.article(13, Version.DRAFT)
    assert draft13.status is DraftStatus.MOVED
    draft21 = doc.article(21, Version.DRAFT)
    assert draft21.status is DraftStatus.DROPPED and draft21.paired_number is None
    assert doc.article(11, Version.DRAFT).status is DraftStatus.REVISED
    paired = [a for a in doc.articles if a.version is Version.CURRENT and a.paired_number]
    assert len(paired) == 31


def test_hunan_body_on_next_line_is_read():
    article = load("hunan.txt").article(2)
    assert article.title == "政府和部门职责"
    assert len(article.paragraphs) == 3
    assert article.paragraphs[0].text.startswith("县级以上人民政府应当加强对中小企业促进工作的领导")


def test_markdown_law_structure():
    doc = load("sme_law.md")
    assert doc.title == "中华人民共和国中小企业促进法"
    assert doc.dates[0].startswith("2002年6月29日")
    assert len(doc.dates) == 2
    article = doc.article(19)
    assert article.chapter == "第三章 融资促进"
    assert "应收账款" in article.text
    assert len(doc.article(5).paragraphs) == 4
    assert doc.article(1).chapter == "第一章 总则"


def test_markdown_items_belong_to_their_paragraph():
    doc = load("payment.md")
    with_items = [a for a in doc.articles if any(p.items for p in a.paragraphs)]
    assert with_items
    for article in with_items:
        for paragraph in article.paragraphs:
            assert [i.number for i in paragraph.items] == list(range(1, len(paragraph.items) + 1))


def test_markdown_sections_headings_and_inserted_articles():
    text = "\n".join(  # noqa: FLY002 -- one line per source line reads better
        [
            "# 示例法",
            "",
            "2020年1月1日 通过",
            "",
            "<!-- INFO END -->",
            "",
            "## 第一章 总则",
            "",
            "### 第一节 一般规定",
            "",
            "第一条 为了示例，制定本法。",
            "",
            "第十条之一 插入的条文。",
            "",
            "第一百二十三条 本条有两款：",
            "",
            "（一）第一项；",
            "",
            "（二）第二项。",
            "",
            "第二款内容。",
        ]
    )
    doc = parse_document(text, "demo")
    assert [(a.number, a.sub) for a in doc.articles] == [(1, 0), (10, 1), (123, 0)]
    assert doc.articles[1].label == "第十条之一"
    assert doc.articles[0].chapter == "第一章 总则 第一节 一般规定"
    last = doc.articles[2]
    assert [p.text for p in last.paragraphs] == ["本条有两款：", "第二款内容。"]
    assert len(last.paragraphs[0].items) == 2


def test_article_head_without_space_only_counts_when_it_continues_numbering():
    text = "# 法\n\n第一条 甲。\n\n第二条乙的内容。\n\n第五条规定的情形除外。\n"
    doc = parse_document(text, "demo")
    assert [a.number for a in doc.articles] == [1, 2]
    assert doc.articles[1].paragraphs[1].text == "第五条规定的情形除外。"


def test_document_without_articles_is_refused():
    with pytest.raises(NoArticlesError, match="没有找到条文"):
        parse_document("# 通知\n\n<!-- INFO END -->\n\n这是一份没有条文的通知。\n", "notice")


def test_split_notes_keeps_law_parentheses():
    assert split_notes("中小企业从省外引进我省紧缺职业（工种）的技师。") == (
        "中小企业从省外引进我省紧缺职业（工种）的技师。",
        [],
    )
    assert split_notes("……办理续贷。（移至第十六条第二款修改）") == ("……办理续贷。", ["移至第十六条第二款修改"])


@pytest.mark.parametrize(
    "text, number",
    [
        ("十", 10),
        ("十一", 11),
        ("二十", 20),
        ("一百零五", 105),
        ("一百二十三", 123),
        ("一千二百六十", 1260),
        ("两百", 200),
    ],
)
def test_chinese_numerals_both_ways(text, number):
    assert cn_to_int(text) == number
    if "两" not in text:
        assert int_to_cn(number) == text


def test_article_references():
    assert parse_article_ref("11") == (11, 0)
    assert parse_article_ref("第十一条") == (11, 0)
    assert parse_article_ref("第十条之一") == (10, 1)
    assert article_label(577) == "第五百七十七条"
    with pytest.raises(ValueError):
        parse_article_ref("abc")


def test_article_ten_thousand_is_read_not_merged_into_the_one_before():
    from policy_corpus.numerals import int_to_cn

    articles = "\n\n".join(f"第{int_to_cn(n)}条 第{n}条的内容。" for n in range(1, 10002))
    doc = parse_document(f"# 很长的规定\n\n2024年1月1日 施行\n\n<!-- INFO END -->\n\n{articles}\n", "long")
    current = [a for a in doc.articles if a.version.value == "current"]
    assert len(current) == 10001 and not numbering_problems(doc)
    assert current[9999].label == "第一万条" and current[9999].text == "第10000条的内容。"
    assert current[10000].label == "第一万零一条"
