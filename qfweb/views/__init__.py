"""Dashboard pages that span both apps: login and the overview."""
