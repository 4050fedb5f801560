"""Serving a trained tagger: `export` writes the SavedModel (tokens and raw-text
signatures), `tag_documents` tags text, PubTator and CoNLL files with a run or an export."""
