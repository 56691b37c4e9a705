"""The version, in a module of its own: the engine reads it without the package facade (which can open the window)."""
__version__ = "0.1.0"
