"""Audio: frames, resampling, file decoding, voice activity and end-of-turn detection."""
