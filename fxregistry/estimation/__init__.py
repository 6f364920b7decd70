"""``fxr estimate``: analysis by synthesis and estimates on users' files."""
