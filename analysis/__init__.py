"""Analysis of mvfit exports: cleaning, calibration, reliability, genre-fit clustering, the preference
test, Bradley-Terry strengths, an HTML report, and a crowd simulator for planning studies.

Works only on the files of an export directory (docs/export-format.md); never imports Django.
"""
