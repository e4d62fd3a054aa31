"""Coverage-guided fuzzing of appvet's readers (see fuzz/README.md)."""
