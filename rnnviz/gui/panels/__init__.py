"""Panels: each a QWidget fed numpy arrays from a Frame; none of them touches torch."""
