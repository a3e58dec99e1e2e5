"""Our embedder as LangChain Embeddings, for LangChain vector stores and chains."""

from __future__ import annotations

from langchain_core.embeddings import Embeddings as LangChainEmbeddings

from assistant.search.embeddings import Embedder


class LangChainAdapter(LangChainEmbeddings):
    """Our embedder as LangChain Embeddings, for LangChain vector stores and chains."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._embedder.embed_passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self._embedder.embed_query(text).tolist()
