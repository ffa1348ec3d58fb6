urlpatterns = []  # tests/webapp/test_lean.py: a URLconf that resolves nothing
