"""The dataset file: its options, its format (one owner), building, merging shards.

``config`` holds the build's options (torch-free, shared with the CLI),
``header`` owns the HDF5 format, ``clips`` and ``render`` are the build's
two worker passes, ``build`` runs them and writes the file, ``merge`` joins
the shards of a sharded build.
"""
