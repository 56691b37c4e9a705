"""The replay of a finished trace lives in the engine; this name stays for code that imported it here."""
from rnnviz.engine.replay import ReplayRunner

__all__ = ["ReplayRunner"]
