"""Reading a guide folder: guide.yaml, chapters, data files and assets, each file through the guard; hands on ``GuideConfig``, ``Chapter`` and plain data."""
