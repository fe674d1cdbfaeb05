"""The map pipeline: suite -> sweep -> store -> regimes -> report (and plots)."""
