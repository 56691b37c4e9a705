"""What the window teaches with: lessons, preset specs, generated PyTorch code."""
