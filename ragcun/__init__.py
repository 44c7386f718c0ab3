"""ragcun: a DVC pipeline for studying isotropic embeddings in dense retrieval."""

__version__ = "0.1.0"
