"""Story 2's serving side: the versioned Redis cache with its atomic pointer, and the ranking API."""
