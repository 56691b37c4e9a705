"""Helpers shared by the GUI tests."""


def wait_idle(qtbot, window, timeout: int = 20000) -> None:
    """Until every queued intention ran and its frame was applied."""
    qtbot.waitUntil(window.is_idle, timeout=timeout)
