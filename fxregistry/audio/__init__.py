"""Audio in and out: reading and writing files, and the spectrogram features."""
