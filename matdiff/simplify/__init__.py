"""Simplification: factoring, naming of repeats and transposes pulled out, chosen by an explicit cost."""
from .passes import cost, name_repeats, pull_transposes, simplify

__all__ = ["cost", "name_repeats", "pull_transposes", "simplify"]
