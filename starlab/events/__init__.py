"""The engagement event model, its seeded generator and its file outputs."""
