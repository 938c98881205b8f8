"""The web view (``gateway web``): pages for the people who do the billing work, behind a login.

``app.create_app`` builds the ASGI application (FastAPI, Jinja2 templates, no JavaScript, every
asset served from ``static/``); ``auth`` logs users in (sessions and CSRF tokens kept in the
ledger), one module per page: ``attention`` (what needs someone today), ``claims`` (search, a
claim's timeline), ``review`` (held payments), ``eligibility`` (answers), ``audit`` (admins).
"""
