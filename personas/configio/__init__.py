"""Import and export of the store's configuration (`manage.py qf import / export / demo`).

Formats read: qfweb's own export, and the config files of the source documents: per-role
YAML (000), multi-model YAML (001), a persona's JSONC file (003) and the model registry JSON
(004). Each is read into a Plan (plan.py) and applied through the services, all or nothing.
"""

from __future__ import annotations

from personas.configio.export import EXPORT_FORMATS, export_document, export_text
from personas.configio.importer import READERS, import_file, import_text
from personas.configio.parse import FORMATS
from personas.configio.report import ImportFailed, Report

__all__ = [
    "EXPORT_FORMATS",
    "FORMATS",
    "READERS",
    "ImportFailed",
    "Report",
    "export_document",
    "export_text",
    "import_file",
    "import_text",
]
