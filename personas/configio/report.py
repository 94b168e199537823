"""What an import did (or would do): counts per kind of row, notices and errors."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from qfweb.errors import QfError

KINDS = ("capabilities", "providers", "models", "tasks", "defaults", "personas", "scenarios")
OUTCOMES = ("created", "updated", "unchanged")
_RANK = {"unchanged": 0, "updated": 1, "created": 2}


@dataclass
class Report:
    source: str
    format: str = ""
    dry_run: bool = False
    outcomes: dict[tuple[str, Any], str] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def record(self, kind: str, key: Any, outcome: str) -> None:
        """Several entries may touch one row (a provider and its default model): the row
        counts once, with the strongest outcome."""
        previous = self.outcomes.get((kind, key), "unchanged")
        self.outcomes[(kind, key)] = max(previous, outcome, key=_RANK.__getitem__)

    def error(self, where: str, message: str) -> None:
        line = f"{self.source}: {where}: {message}"
        if line not in self.errors:
            self.errors.append(line)

    def notice(self, message: str) -> None:
        if message not in self.notices:
            self.notices.append(message)

    def counts(self) -> dict[str, Counter[str]]:
        result: dict[str, Counter[str]] = {kind: Counter() for kind in KINDS}
        for (kind, _), outcome in self.outcomes.items():
            result[kind][outcome] += 1
        return result

    def totals(self) -> Counter[str]:
        return Counter(self.outcomes.values())

    @property
    def changed(self) -> bool:
        return any(outcome != "unchanged" for outcome in self.outcomes.values())

    def render(self) -> str:
        verb = "Dry run, nothing written; would import" if self.dry_run else "Imported"
        lines = [f"{verb} {self.source} ({self.format}):"]
        for kind, counter in self.counts().items():
            if counter:
                lines.append(f"  {kind:<13} {_counted(counter)}")
        lines.append(f"  {'total':<13} {_counted(self.totals())}")
        lines += [f"notice: {notice}" for notice in self.notices]
        return "\n".join(lines)


def _counted(counter: Counter[str]) -> str:
    return ", ".join(f"{counter[outcome]} {outcome}" for outcome in OUTCOMES)


class ImportFailed(QfError):
    """The file had errors; nothing was written. `report.errors` lists every one."""

    code = "import_failed"

    def __init__(self, report: Report) -> None:
        count = len(report.errors)
        summary = f"{report.source}: {count} error{'s' if count != 1 else ''}; nothing was imported"
        super().__init__("\n".join([*report.errors, summary]))
        self.report = report
