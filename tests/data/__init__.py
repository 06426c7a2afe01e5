"""Tests of xaikit.data (a package, so module names cannot clash with other test folders)."""
