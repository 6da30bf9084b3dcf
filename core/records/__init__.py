"""The record: citizens, insurance, history, immunizations, visits, facilities,
the display rules of the health book, completeness and the importers.

The ground floor of the domain (core/layers.py): it imports only the foundations
and never asks who is reading; the access policy above hands the book builder a
`BookView`, and the floors above ask who a citizen is through `people`.
"""
