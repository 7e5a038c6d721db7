"""WeasyPrint lays the HTML out in pages, whole or in parts on worker processes joined into one PDF; hands on the pages, their fills and the PDF's bytes."""
