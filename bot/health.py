"""Health check: the served version loads and answers a canary question (`policybot health`, GET /healthz).

The canary is the opening of the first served article, so it works for any corpus: a healthy
search answers it with that article.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from policy_corpus.citation import cite
from policy_corpus.model import Version

from .assistant import Assistant

CANARY_CHARS = 40


@dataclass
class Health:
    ok: bool
    version: str | None = None
    documents: int = 0
    articles: int = 0
    canary: str = ""  # the question asked
    cited: str | None = None  # the first citation of its answer
    seconds: float = 0.0
    reason: str = ""  # why it is not ok

    def as_dict(self) -> dict:
        return asdict(self)


def check_health(assistant: Assistant) -> Health:
    """Ask the canary question of the serving version; never raises."""
    start = time.perf_counter()
    health = Health(ok=False, version=assistant.version)
    try:
        infos = assistant.documents()
        health.documents = len(infos)
        health.articles = sum(info.current_count for info in infos)
        first = next((info for info in infos if info.current_count), None)
        if first is None:
            health.reason = "the served version has no articles"
            return health
        article = assistant.first_article(first.id, Version.CURRENT)
        health.canary = article.text.replace("\n", "")[:CANARY_CHARS]
        answer = assistant.ask(health.canary)
        cited = answer.citations + answer.more
        health.cited = cited[0].reference if cited else None
        expected = cite(first.cite_title, article)
        if answer.abstained or not any(c.doc_id == first.id and c.article.number == article.number for c in cited):
            health.reason = f"the canary question was not answered with {expected}"
        else:
            health.ok = True
    except Exception as error:  # noqa: BLE001 -- a health check reports every failure instead of raising it
        health.reason = f"{type(error).__name__}: {error}"
    finally:
        health.seconds = round(time.perf_counter() - start, 3)
    return health
