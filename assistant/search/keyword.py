"""BM25 over jieba tokens, with a document mask applied before scoring.

The mask is how the audience and effective-date filters become part of the query itself:
a masked-out passage is never scored, so it can never be ranked.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np


class BM25:
    def __init__(self, documents: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75):
        self.size = len(documents)
        lengths = np.array([len(doc) for doc in documents], dtype=np.float32)
        average = float(lengths.mean()) if self.size else 1.0
        self._norm = k1 * (1 - b + b * lengths / max(average, 1e-9))
        self._k1 = k1
        postings: dict[str, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
        for position, doc in enumerate(documents):
            for term, count in Counter(doc).items():
                ids, counts = postings[term]
                ids.append(position)
                counts.append(count)
        self._postings = {
            term: (np.array(ids, dtype=np.int32), np.array(counts, dtype=np.float32))
            for term, (ids, counts) in postings.items()
        }
        self._max_idf = self._idf(0)

    def _idf(self, frequency: int) -> float:
        return math.log(1 + (self.size - frequency + 0.5) / (frequency + 0.5))

    def document_frequency(self) -> dict[str, int]:
        """How many passages use each term."""
        return {term: len(ids) for term, (ids, _) in self._postings.items()}

    def idf(self, term: str) -> float:
        """How informative a term is; a term the corpus never uses is the most informative."""
        posting = self._postings.get(term)
        return self._idf(len(posting[0])) if posting is not None else self._max_idf

    def scores(self, query: Sequence[str], mask: np.ndarray | None = None) -> np.ndarray:
        total = np.zeros(self.size, dtype=np.float32)
        for term, repeats in Counter(query).items():
            posting = self._postings.get(term)
            if posting is None:
                continue
            ids, counts = posting
            weight = self.idf(term) * repeats
            total[ids] += weight * counts * (self._k1 + 1) / (counts + self._norm[ids])
        if mask is not None:
            total[~mask] = 0.0
        return total

    def top(self, query: Sequence[str], n: int, mask: np.ndarray | None = None) -> list[int]:
        """Positions of the best `n` passages with a positive score, best first."""
        scores = self.scores(query, mask)
        candidates = np.flatnonzero(scores > 0)
        if candidates.size > n:
            candidates = candidates[np.argpartition(-scores[candidates], n - 1)[:n]]
        return sorted(candidates.tolist(), key=lambda i: -scores[i])
