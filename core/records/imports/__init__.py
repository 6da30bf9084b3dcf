"""Importers from the sources the Hanoi plan names.

Each importer validates at the edge, reports a bad row with its line and reason
without stopping the rest, never half-writes a row (one transaction per chunk),
and is idempotent: importing the same file twice changes nothing.
"""
