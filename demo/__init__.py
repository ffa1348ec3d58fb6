"""The demo: the whole platform on the embedded defaults in one command (``python manage.py demo``).

Its own app on top of the others: ``demo`` imports ``experiments`` and ``annotation``, never the other
way round (tests/test_boundaries.py). See docs/demo.md.
"""
