"""minimobilebert: MobileBERT (Sun et al., 2020) from scratch in NumPy."""

__version__ = "0.1.0"
