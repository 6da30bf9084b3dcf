"""The Hanoi electronic health record service.

Knows nothing about chat: channels (`bot/`) import `core`, never the reverse.
"""
