"""The graded voice-case library: notable calls promoted into annotated training cases (``cases:``)."""
