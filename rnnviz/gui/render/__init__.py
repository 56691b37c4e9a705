"""Rendering the window and its views to PNG files: `python -m rnnviz.gui.render DIR`."""
