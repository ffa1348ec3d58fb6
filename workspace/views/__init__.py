"""Thin views: each reads through a selector or writes through a service, then renders a template."""
