"""The crash-safe recorder: an append-only partial folder written while recording, and loading it back."""
