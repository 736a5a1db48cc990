"""Story 2's publish cycle: build the idle color, gate it, flip the flag, warm the cache, roll back."""
