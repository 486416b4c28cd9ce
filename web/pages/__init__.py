"""Page modules, one per area of the site; web/urls.py lists them."""
