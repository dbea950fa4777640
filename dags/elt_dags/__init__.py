"""Building blocks shared by the DAG files (kept out of the DAG files so those stay thin)."""
