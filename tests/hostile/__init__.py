"""The standing hostile-input suite: replies, pages, grade files and requests built to break the pipeline."""
