"""What the tests share: the test warehouse, the end-to-end pipeline fixtures, mart expectations, browser helpers."""
