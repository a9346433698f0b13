"""The local web server: health now, status page and metrics with the operations issue."""
