"""Consent: what each reader may see of a citizen's record, decided in one place."""
