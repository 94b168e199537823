"""The dashboard pages of the persona store (templates/personas/)."""
