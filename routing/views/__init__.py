"""The dashboard pages of the catalog, health and reports (templates/routing/)."""
