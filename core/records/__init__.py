"""The record: citizens, insurance, history, immunizations, visits, facilities,
the display rules of the health book, completeness and the importers."""
