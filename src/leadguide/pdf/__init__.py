"""The finished PDF: its tag tree made to say what the page says, its text read back, the file written whole; hands on the PDF on disk."""
