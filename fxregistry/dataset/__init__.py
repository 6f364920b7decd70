"""The dataset file: its options, its format (one owner), building, merging shards.

``config`` holds the build's options (torch-free, shared with the CLI) and
``recipes`` reads them from a file; ``header`` owns the HDF5 format;
``splits`` decides which recordings go where; ``clips`` and ``render`` are
the build's two worker passes, run by ``pool``'s processes and written by
``rows``; ``build`` runs them all; ``merge`` joins a sharded build's parts.
"""
