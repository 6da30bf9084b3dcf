"""Check-in at the clinic: the citizen's QR token and its spoken 8-digit code."""
