"""Local models: speech to text, text to speech, language model, and the registry that finds them."""
