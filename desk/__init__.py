"""The desk: the web console for reception desks, ward health stations and the city's figures.

A channel beside `bot/`: server-rendered pages (Jinja2) over `core`, which decides every rule.
Nothing here reads a book except through `core.consent`; nothing is loaded from outside.
"""
