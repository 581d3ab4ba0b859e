"""Shared fixtures: real documents, real SQLite files in temp folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

PROJECT = Path(__file__).resolve().parent.parent
DOCUMENTS = PROJECT / "policy_corpus" / "documents"
SHARED = PROJECT.parent / "shared"
NATIONAL_ARCHIVE = SHARED / "data" / "lawrefbook-national.tar.gz"
DEV_QUESTIONS = SHARED / "eval" / "dev_questions.jsonl"


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
