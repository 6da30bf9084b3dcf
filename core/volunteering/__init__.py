"""Volunteers of the ward (youth union, community digital teams) helping residents complete
their record: finding a resident, the ward's worklist, and entries that wait for a yes."""
