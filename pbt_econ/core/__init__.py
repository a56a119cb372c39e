"""The bottom layer: errors, atomic files, Parquet tables, the run directory, YAML, checkpoints, seeds,
statistics and the command-line runner. Knows nothing of economies or learning; imports no other layer.
"""
