"""A retrieval-augmented bank assistant: cited answers, offline by default."""

__version__ = "0.1.0"
