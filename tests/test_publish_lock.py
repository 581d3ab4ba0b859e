"""Two processes publishing into one data folder: one waits (or is refused), neither loses its build."""

from __future__ import annotations

import logging
import subprocess
import sys
import time

import pytest

from policy_corpus.library import Library, PublishBusyError
from policy_corpus.sources import load_sources

from .conftest import PROJECT

SLOW_PUBLISH = """
import sys, time
from pathlib import Path
from policy_corpus.library import Library
from policy_corpus.sources import load_sources

data, documents, marker = sys.argv[1:4]

def build(store, folder):
    Path(marker).write_text(folder.name)
    time.sleep(3)

print(Library(data).publish(load_sources([Path(documents)]).documents, build).version)
"""


@pytest.fixture
def slow_publish(tmp_path, documents_copy):
    """Another process publishing the default documents, caught in the middle of its index build."""
    marker = tmp_path / "building"
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_PUBLISH, str(tmp_path / "data"), str(documents_copy), str(marker)],
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert process.poll() is None and time.monotonic() < deadline, "the other publish did not start"
        time.sleep(0.05)
    yield process, marker.read_text()
    process.wait(timeout=60)


def test_a_second_publisher_is_refused_when_it_asks_not_to_wait(tmp_path, documents_copy, slow_publish):
    process, build_folder = slow_publish
    docs = load_sources([documents_copy]).documents
    with pytest.raises(PublishBusyError, match="another process is publishing"):
        Library(tmp_path / "data", lock_timeout=0).publish(docs[:1])
    assert (tmp_path / "data" / "versions" / build_folder).is_dir()  # its build was left alone
    assert process.wait(timeout=60) == 0
    assert Library(tmp_path / "data").current_name() == "0001"


def test_a_second_publisher_waits_and_then_publishes_over_the_first(tmp_path, documents_copy, slow_publish, caplog):
    process, _ = slow_publish
    docs = load_sources([documents_copy]).documents
    with caplog.at_level(logging.WARNING):
        result = Library(tmp_path / "data").publish(docs[:1])
    assert "waiting" in caplog.text
    assert process.wait(timeout=60) == 0 and process.stdout.read().strip() == "0001"
    library = Library(tmp_path / "data")
    assert result.version == "0002" and library.current_name() == "0002"
    assert [v.name for v in library.versions()] == ["0002", "0001"]
    assert library.version_info("0002").parent == "0001"
