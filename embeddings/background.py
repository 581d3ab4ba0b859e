"""The background collection: national law, used to tell when a question is outside the corpus.

A question the corpus does not answer (试用期, 注册资本实缴, 增值税征收率) usually matches some other
law far better than anything served. Comparing the best lexical matches in the corpus with the best
in the background, on one BM25 scale, gives an abstention signal that does not depend on how loosely
the question is worded. The background is indexed once per archive and cached in the data folder.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from pathlib import Path

from policy_corpus.config import Config, switched_off
from policy_corpus.sources import load_sources

from .lexical import BM25
from .units import article_heading

logger = logging.getLogger(__name__)
FORMAT = "1"  # bump when tokenisation or article text changes


def background_path(config: Config) -> Path | None:
    """The background collection for abstention, if configured and present."""
    if switched_off(config.search.background):
        return None
    path = (config.base_dir / config.search.background).resolve()
    if not path.exists():
        logger.warning("background collection %s is missing: abstention uses the dense floor only", path)
        return None
    return path


def archive_key(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return f"{digest}-{FORMAT}"


def background_texts(path: Path) -> list[str]:
    documents = load_sources([path]).documents
    return [f"{article_heading(doc.cite_title, a)}\n{a.text}" for doc in documents for a in doc.articles]


def load_background(path: Path, data_dir: Path) -> BM25:
    """The background BM25 for the collection at `path`, built on first use and cached."""
    folder = data_dir / "background" / archive_key(path)
    if not (folder / "bm25.json").exists():
        logger.info("indexing background collection %s (once per archive)", path.name)
        temp = Path(tempfile.mkdtemp(prefix=".build-", dir=folder.parent if folder.parent.exists() else None))
        BM25.build(background_texts(path)).save(temp)
        folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(temp, folder)
        except OSError:  # another process finished first; its copy is as good
            shutil.rmtree(temp, ignore_errors=True)
    return BM25.load(folder)
