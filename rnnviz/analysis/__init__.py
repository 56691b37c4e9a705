"""Analyses over recorded numbers (numpy only): the spectral view of the recurrence."""
