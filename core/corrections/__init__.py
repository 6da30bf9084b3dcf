"""Correcting official details: the citizen files a request, the ward health station decides."""
