"""Petitioners' privacy: ID-card and phone numbers encrypted at rest, found again through a
keyed hash, masked in responses unless the caller's role may read personal data."""
