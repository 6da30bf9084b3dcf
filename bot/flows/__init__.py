"""Journeys, one per file: input and state in, replies and next state out."""
