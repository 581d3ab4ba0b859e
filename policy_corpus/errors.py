"""Errors of the corpus layer. Messages are in Chinese: staff read them in the bot and the CLI."""

from __future__ import annotations


class CorpusError(Exception):
    """Base class: something about a document or the corpus that a person must fix."""


class EmptyDocumentError(CorpusError):
    pass


class BinaryDocumentError(CorpusError):
    pass


class EncodingError(CorpusError):
    pass


class NoArticlesError(CorpusError):
    pass


class NumberingError(CorpusError):
    pass


class DocumentTooLargeError(CorpusError):
    pass


class BadDocumentIdError(CorpusError):
    pass


class UnknownDocumentError(CorpusError):
    pass


class UnknownArticleError(CorpusError):
    pass
