"""Keras layers shared by the BiLM and the tagger."""
