"""Presentation: printers (text, unicode, LaTeX), the derivation steps, Jupyter display, plots."""
