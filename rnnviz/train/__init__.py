"""Training the char model: the loop, its config, its saved history (torch allowed)."""
