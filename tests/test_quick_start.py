"""A first start serves before national law is embedded: quick publish, the background build, its switch while
questions are answered, and resuming after a kill."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time

import pytest

from bot.assistant import Assistant
from bot.cli import main
from embeddings.cache import EmbeddingCache
from embeddings.deferred import PROGRESS_FILE, Completion, dense_state, read_progress
from embeddings.index_folder import read_meta
from policy_corpus.config import load_config, save_config
from policy_corpus.library import Library

from .conftest import DOCUMENTS, PROJECT, extract_laws

SUBSET = [
    "社会法/劳动合同法(2012-12-28).md",
    "社会法/社会保险法(2018-12-29).md",
    "行政法规/劳动合同法实施条例(2008-09-18).md",
    "民法典/合同编.md",
    "民法商法/公司法(2023-12-29).md",
]
LABOUR_QUESTION = "招了个员工签一年合同，试用期最长能约定多久？"
LABOUR_LAW = "社会法/劳动合同法(2012-12-28)"


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """`policybot ingest --quick` with no time for national law: one policy document plus real laws."""
    root = tmp_path_factory.mktemp("quick")
    documents = root / "documents"
    documents.mkdir()
    shutil.copy(DOCUMENTS / "payment.md", documents)
    collection = root / "collection"
    extract_laws(SUBSET, collection)
    config = load_config(
        PROJECT / "config.yaml",
        environ={
            "POLICYBOT_DATA_DIR": str(root / "data"),
            "POLICYBOT_CORPUS_DIR": str(documents),
            "POLICYBOT_CORPUS__SOURCES": str(collection),
            "POLICYBOT_EMBEDDINGS__QUICK_START_SECONDS": "0",
        },
    )
    settings = root / "config.json"
    save_config(config, settings)
    assert main(["--config", str(settings), "ingest", "--quick"]) == 0
    return load_config(settings), settings


def status(settings, capsys) -> dict:
    capsys.readouterr()
    assert main(["--config", str(settings), "status", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_quick_start_answers_national_law_by_its_words(quick, capsys):
    config, settings = quick
    meta = read_meta(Library(config.data_path).current_dir())
    assert not meta["dense_ready"] and meta["units"] < meta["units_total"]
    figures = status(settings, capsys)
    assert figures["dense_ready"] is False and 0.0 < figures["dense_progress"] < 1.0
    assert figures["documents"] == 1 + len(SUBSET) and figures["articles"] > 800
    assistant = Assistant(config)
    answer = assistant.ask(LABOUR_QUESTION)
    assert not answer.abstained
    assert (LABOUR_LAW, 19) in [(c.doc_id, c.article.number) for c in answer.citations]
    # `--if-missing --quick` (what `make run` does at each start) leaves the quick version serving
    version = assistant.version
    assert main(["--config", str(settings), "ingest", "--if-missing", "--quick"]) == 0
    assert Library(config.data_path).current_name() == version


def test_background_build_resumes_after_a_kill_and_switches_while_answering(quick, capsys):
    config, settings = quick
    library = Library(config.data_path)
    assistant = Assistant(config)
    quick_version = assistant.version

    first = Completion(config)
    assert first.start()
    assert not Completion(config).start(), "one background build at a time"
    started = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # kill it once it has cached its first chunk
        recorded = read_progress(config.data_path)
        if recorded.get("version") == quick_version:
            started = started if started is not None else recorded["done"]
            if recorded["done"] > started:
                break
        time.sleep(0.05)
    else:
        pytest.fail("the background build recorded no progress")
    os.kill(first.process.pid, signal.SIGKILL)
    first.thread.join(30)
    assert first.returncode == -signal.SIGKILL
    killed_at = read_progress(config.data_path)["done"]
    state = dense_state(library)
    assert (
        not state.ready
        and not state.building
        and state.progress == pytest.approx(killed_at / read_progress(config.data_path)["total"], abs=1e-3)
    )
    assert status(settings, capsys)["dense_progress"] == pytest.approx(state.progress, abs=1e-3)

    second = Completion(config, on_done=assistant.refresh)
    assert second.start()
    answered = 0
    while second.thread.is_alive():  # owners keep being answered while it builds and switches
        answer = assistant.ask("政府机关拖欠中小企业的货款，应当多长时间内支付？")
        assert not answer.abstained and answer.citations[0].doc_id == "payment"
        answered += 1
        time.sleep(0.2)
    second.thread.join()
    assert second.returncode == 0 and answered > 0
    assert assistant.version != quick_version == library.version_info(assistant.version).parent
    assert dense_state(library).ready
    assert status(settings, capsys) | {"version": None} == status(settings, capsys) | {
        "version": None,
        "dense_ready": True,
        "dense_progress": 1.0,
    }
    meta = read_meta(library.current_dir())
    assert meta["dense_ready"] and meta["units"] == meta["units_total"]
    # resumed: what the killed build had cached was not embedded again
    note = library.version_info(assistant.version).note
    resumed = int(note.split("(")[1].split()[0])
    assert resumed <= meta["units_total"] + meta["examples"] - killed_at
    cache = EmbeddingCache(config.data_path / "embedding_cache.db")
    try:
        assert cache.db["vectors"].count >= meta["units_total"]
    finally:
        cache.close()
    answer = assistant.ask(LABOUR_QUESTION)
    assert answer.citations[0].doc_id == LABOUR_LAW and answer.citations[0].article.number == 19
    assert (config.data_path / PROGRESS_FILE).exists()
