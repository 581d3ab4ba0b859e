"""What `make train` fitted on questions answered from national law: the query adapter, the law prior (see
embeddings/train.py) and the reranker (embeddings/train_reranker.py), loaded for the corpora they apply to."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from policy_corpus.config import Config, switched_off
from policy_corpus.sources import from_collection
from policy_corpus.store import DocumentInfo

from .adapter import QueryAdapter, load_adapter
from .encoder import Encoder, get_encoder
from .lawprior import LawPrior
from .query_tower import tower_encoder
from .rerank import Reranker, load_reranker

logger = logging.getLogger(__name__)
POLICY, NATIONAL = "policy", "national"  # the policy gate's two classes
LAW, BEYOND = "law", "beyond"  # the scope gate's: a question the texts may answer, one no law answers


def learned_file(config: Config, setting: str) -> Path | None:
    """A file `make train` writes, as set in the config (resolved against its folder); None when "", off or none."""
    if switched_off(setting):
        return None
    return (config.base_dir / setting).resolve()


def get_adapter(config: Config, encoder: Encoder) -> QueryAdapter | None:
    """The configured query adapter, if set and fitted for this encoder's model."""
    path = learned_file(config, config.embeddings.query_adapter)
    return None if path is None else load_adapter(path, config.embeddings.model, encoder.dimension)


def get_query_tower(config: Config) -> Encoder | None:
    """The encoder of the configured query tower, if set and tuned from this encoder's model."""
    path = learned_file(config, config.embeddings.query_tower)
    return None if path is None else tower_encoder(path, config.embeddings, get_encoder(config).path)


def get_law_prior(config: Config) -> LawPrior | None:
    """The configured law prior, if set and readable."""
    return _load_prior(learned_file(config, config.search.law_prior), "law prior")


def get_policy_gate(config: Config) -> LawPrior | None:
    """The configured policy gate (embeddings/train.py fit_policy_gate), if set, readable and a policy gate."""
    return _load_gate(learned_file(config, config.search.policy_gate), "policy gate", POLICY)


def get_scope_gate(config: Config) -> LawPrior | None:
    """The configured scope gate (embeddings/train.py fit_scope_gate), if set, readable and a scope gate."""
    return _load_gate(learned_file(config, config.search.scope_gate), "scope gate", BEYOND)


def _load_gate(path: Path | None, what: str, label: str) -> LawPrior | None:
    """A two-class prior whose classes include `label` (the share Learned reads), else None."""
    gate = _load_prior(path, what)
    return gate if gate is not None and label in gate.laws else None


def _load_prior(path: Path | None, what: str) -> LawPrior | None:
    if path is None:
        return None
    try:
        return LawPrior.load(path)
    except (OSError, ValueError, KeyError) as error:
        logger.warning("%s %s cannot be read (%s): searching without it", what, path, error)
        return None


@dataclass
class Learned:
    """The adapter, the query tower, the law prior and the reranker one corpus version is searched with
    (None: without)."""

    adapter: QueryAdapter | None = None
    law_prior: LawPrior | None = None
    law_class: np.ndarray | None = None  # each article's law's class in the prior (-1: none)
    reranker: Reranker | None = None
    tower: Encoder | None = None
    policy_gate: LawPrior | None = None
    scope_gate: LawPrior | None = None

    def vectors(self, text: str, encoder: Encoder) -> tuple[np.ndarray, np.ndarray | None]:
        """A question's vector from the shipped model (`encoder`: closeness and the policy documents read it), and
        the one national law is searched with; None without an adapter or a tower.

        With both, the mean of the adapted vector and the tower's: on held-out questions it kept the public
        questions' gain of the tower (R@1 +0.02) without the tower's loss on one of the owners' sets (-0.16)."""
        raw = encoder.encode([text])
        adapted = None if self.adapter is None else self.adapter.apply(raw)
        if self.tower is None:
            return raw, adapted
        tuned = self.tower.encode([text])
        if adapted is not None:
            tuned = tuned + adapted
            tuned = (tuned / np.linalg.norm(tuned, axis=1, keepdims=True)).astype(np.float32)
        return raw, tuned

    @classmethod
    def for_corpus(
        cls,
        adapter: QueryAdapter | None,
        law_prior: LawPrior | None,
        reranker: Reranker | None,
        article_keys: Sequence[tuple[str, int, int]],
        documents: Sequence[DocumentInfo],
        tower: Encoder | None = None,
    ) -> Learned:
        """These parts for a corpus: each collection article points at its law's class in the prior (-1: none)."""
        learned = cls(adapter, law_prior, reranker=reranker, tower=tower)
        if law_prior is not None:
            classes = {law: i for i, law in enumerate(law_prior.laws)}
            law_of = {info.id: info.law for info in documents}
            learned.law_class = np.array(
                [
                    classes.get(law_of.get(doc_id, ""), -1) if from_collection(doc_id) else -1
                    for doc_id, _, _ in article_keys
                ],
                dtype=np.int64,
            )
        return learned

    def policy_share(self, question: str) -> float | None:
        """How likely the question is one the policy documents answer, by its words; None without a gate."""
        return None if self.policy_gate is None else self.policy_gate.share(question, POLICY)

    def beyond_share(self, question: str) -> float | None:
        """How likely the question is one no law answers (business advice, a place's office hours, an app's
        buttons), by its words; None without a scope gate."""
        return None if self.scope_gate is None else self.scope_gate.share(question, BEYOND)

    def law_probabilities(self, question: str) -> np.ndarray | None:
        """Per article, the law prior's probability of its law (0 outside the prior's laws); None without a prior."""
        if self.law_prior is None:
            return None
        probabilities = np.append(self.law_prior.probabilities(question), 0.0)  # class -1 → 0
        return probabilities[self.law_class].astype(np.float32)


def load_learned(
    config: Config, encoder: Encoder, article_keys: Sequence[tuple[str, int, int]], documents: Sequence[DocumentInfo]
) -> Learned:
    """The adapter, the law prior and the reranker, for corpora with national law; the scope gate for any.

    All were fitted on questions answered from national law. Policy documents (flat files, not collection
    entries like 社会法/劳动合同法) are searched without them: the adapter cost SME questions 0.05-0.07 R@1.
    """
    if not any(from_collection(doc_id) for doc_id, _, _ in article_keys):
        return Learned(scope_gate=get_scope_gate(config))
    learned = Learned.for_corpus(
        get_adapter(config, encoder),
        get_law_prior(config),
        load_reranker(learned_file(config, config.search.reranker)),
        article_keys,
        documents,
        get_query_tower(config),
    )
    learned.policy_gate = get_policy_gate(config)
    learned.scope_gate = get_scope_gate(config)
    return learned
