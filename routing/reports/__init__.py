"""Daily rollups of the usage record and the cost reports built from them (issue 6)."""
