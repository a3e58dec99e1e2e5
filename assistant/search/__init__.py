"""Finding passages: embeddings, BM25, the index generations, hybrid retrieval, spelling
and the glossary."""
