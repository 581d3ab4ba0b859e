"""The dense index completed in the background after a quick first start.

A first start (`policybot ingest --quick`, what `make run` does) publishes as soon as what is cheap is ready:
the store, words of every article, vectors of the policy documents and of as much national law as
`embeddings.quick_start_seconds` allow. Articles without a vector are still found by their words. The serving
process then runs `policybot ingest --background` in a child process at low priority (`Completion`, which calls
`complete`): it embeds what
the serving version lacks into the embedding cache without holding the publish lock (staff can publish
meanwhile), chunk by chunk so that a kill loses at most one chunk, then publishes the same documents with the
whole index: the atomic switch of any publish, after which the serving process loads it (`on_done`).
Its progress is kept in `dense_progress.json` in the data folder, for `policybot status` and /corpus.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from policy_corpus.config import Config, save_config
from policy_corpus.library import Library, PublishResult

from .build import corpus_units, make_index_builder
from .cache import EmbeddingCache, encode_cached, text_key
from .encoder import get_encoder
from .index_folder import read_meta
from .progress import Progress

logger = logging.getLogger(__name__)
PROGRESS_FILE = "dense_progress.json"  # {"version", "done", "total", "at"}: the background build's last count
BUILD_LOCK = "dense_build.lock"  # held by the one process completing the index
BUILD_LOG = "dense_build.log"  # the child process' output
BUILD_CONFIG = "dense_build.config.json"  # the serving process' settings, for the child
NICE = 10  # the child yields the cores to the answers of the serving process
CHUNK = 256  # texts embedded and cached at a time: a kill loses at most this many


@dataclass
class DenseState:
    """How much of the serving version's units have a vector."""

    version: str | None
    ready: bool
    progress: float  # 0.0-1.0
    building: bool = False  # a process is completing it now


def dense_state(library: Library) -> DenseState:
    """The serving version's dense index: ready, or how far the background build has come."""
    name = library.current_name()
    if name is None:
        return DenseState(None, False, 0.0)
    meta = read_meta(library.current_dir())
    total = int(meta.get("units_total", meta.get("units", 0)))
    ready = bool(meta.get("dense_ready", True))
    progress = 1.0 if ready or not total else int(meta.get("units", 0)) / total
    recorded = read_progress(library.data_dir)
    if not ready and recorded.get("version") == name and recorded.get("total"):
        progress = max(progress, recorded["done"] / recorded["total"])
    return DenseState(name, ready, round(min(progress, 1.0), 4), building=not ready and build_running(library))


def read_progress(data_dir: Path) -> dict:
    try:
        return json.loads((data_dir / PROGRESS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def write_progress(data_dir: Path, version: str, done: int, total: int) -> None:
    path = data_dir / PROGRESS_FILE
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps({"version": version, "done": done, "total": total, "at": time.time()}), "utf-8")
    os.replace(temp, path)


@contextmanager
def building(library: Library, wait: bool) -> Iterator[bool]:
    """Hold BUILD_LOCK while completing the index (after another process' build, if `wait`); yields whether it is
    held (never False when waiting)."""
    lock = FileLock(library.data_dir / BUILD_LOCK)
    try:
        lock.acquire(timeout=-1 if wait else 0)
    except Timeout:
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


def build_running(library: Library) -> bool:
    with building(library, wait=False) as held:
        return not held


def is_partial(library: Library) -> bool:
    """Whether the serving version's index lacks vectors for some of its units (a quick build)."""
    return library.current_name() is not None and not read_meta(library.current_dir()).get("dense_ready", True)


def embed_missing(library: Library, config: Config, progress: bool | None = None) -> int:
    """Embed into the cache every unit of the serving version that has no vector there yet, recording progress;
    returns how many were embedded. No publish lock is held: this is the long part."""
    name = library.current_name()
    if name is None:
        return 0
    with library.open_store() as store:
        texts = corpus_units(store, config).texts
    encoder = get_encoder(config)
    model = getattr(encoder, "cache_name", encoder.name)
    cache = EmbeddingCache(library.data_dir / "embedding_cache.db")
    try:
        keys = {text_key(text): text for text in texts}
        have = set(cache.get_many(model, sorted(keys)))
        missing = [text for key, text in keys.items() if key not in have]
        done, total = len(keys) - len(missing), len(keys)
        write_progress(library.data_dir, name, done, total)
        embedded = 0
        with Progress(len(missing), "embedding national law", show=progress is not False) as counter:
            for start in range(0, len(missing), CHUNK):
                chunk = missing[start : start + CHUNK]
                embedded += encode_cached(encoder, cache, chunk)[1]
                done += len(chunk)
                write_progress(library.data_dir, name, done, total)
                counter.update(len(chunk))
    finally:
        cache.close()
    return embedded


def complete(library: Library, config: Config) -> PublishResult | None:
    """Embed what the serving version's quick index lacks and publish its documents with the whole index; None
    when another process is completing it or the index is whole already."""
    with building(library, wait=False) as held:
        if not held or not is_partial(library):
            return None
        embedded = embed_missing(library, config)
        return library.publish_update(
            build_index=make_index_builder(config),
            published_by="background",
            force=True,
            note=f"search index completed ({embedded} texts embedded in the background)",
        )


_started: dict[Path, Completion] = {}  # per data folder, the completion this process started last
_started_lock = threading.Lock()


class Completion:
    """`policybot ingest` in a child process at low priority, completing the serving version's index; `on_done`
    is called (in this class' thread) when it published. One per data folder at a time (BUILD_LOCK)."""

    def __init__(self, config: Config, on_done: Callable[[], None] | None = None) -> None:
        self.config = config
        self.on_done = on_done
        self.process: subprocess.Popen | None = None
        self.thread: threading.Thread | None = None
        self.returncode: int | None = None

    def start(self) -> bool:
        """Start it unless the index is whole or another process is completing it; True when started."""
        library = Library(self.config.data_path)
        with _started_lock:
            running = _started.get(library.data_dir)
            if running is not None and running.process is not None and running.process.poll() is None:
                return False  # started from this process, and its child has perhaps not taken BUILD_LOCK yet
            if not is_partial(library) or build_running(library):
                return False
            _started[library.data_dir] = self
            return self._spawn(library)

    def _spawn(self, library: Library) -> bool:
        settings = library.data_dir / BUILD_CONFIG
        save_config(self.config, settings)
        command = [sys.executable, "-m", "bot.cli", "--config", str(settings), "ingest", "--background"]
        log = open(library.data_dir / BUILD_LOG, "ab")  # noqa: SIM115 - the child writes to it while it runs
        try:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                preexec_fn=lambda: os.nice(NICE),  # noqa: PLW1509 - only os.nice, no locks taken in the child
            )
        finally:
            log.close()
        self.thread = threading.Thread(target=self._wait, name="dense-completion", daemon=True)
        self.thread.start()
        logger.info("completing the search index in the background (pid %d)", self.process.pid)
        return True

    def _wait(self) -> None:
        assert self.process is not None
        self.returncode = self.process.wait()
        if self.returncode != 0:
            logger.warning(
                "the background index build stopped (exit %s); see %s. It resumes at the next start or "
                "`policybot ingest`",
                self.returncode,
                Path(self.config.data_path) / BUILD_LOG,
            )
            return
        logger.info("the search index is complete")
        if self.on_done is not None:
            try:
                self.on_done()
            except Exception:  # the version that is serving keeps serving; a restart loads the new one
                logger.exception("the completed search index could not be loaded")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the child (what it embedded stays in the cache: the next start resumes from there)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.thread is not None:
            self.thread.join(timeout)
