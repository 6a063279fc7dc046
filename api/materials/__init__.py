"""Materials (附件): files attached to cases and their events, by SHA-256 in a blob store."""
