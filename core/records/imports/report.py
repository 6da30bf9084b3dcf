"""What an import did, for the operator who ran it."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.i18n import N_, Message, Translator


class FileUnreadable(Exception):
    """The file as a whole cannot be imported (encoding, missing columns, not XML...)."""

    def __init__(self, message: Message) -> None:
        super().__init__(message.msgid)
        self.message = message


@dataclass(frozen=True)
class Problem:
    """A rejected row or a left-out value: where and why, never the value itself (the
    report is kept; validators give `InvalidValue.report_message` for it)."""

    line: int | None  # line of the file, when there is one
    message: Message
    rejected: bool  # False: the row was taken in without the value named
    where: str | None = None  # which file or record, when the line alone does not say


@dataclass
class ImportReport:
    file_name: str
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    quarantined: int = 0
    problems: list[Problem] = field(default_factory=list)

    def reject(self, line: int | None, message: Message, where: str | None = None) -> None:
        self.rejected += 1
        self.problems.append(Problem(line, message, True, where))

    def warn(self, line: int | None, message: Message, where: str | None = None) -> None:
        self.problems.append(Problem(line, message, False, where))

    def add(self, other: ImportReport) -> None:
        for name in ("read", "created", "updated", "unchanged", "rejected", "quarantined"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.problems.extend(other.problems)

    def summary(self, t: Translator) -> str:
        text = t.text(
            N_("{file}: read {read}, created {created}, updated {updated}, "
               "unchanged {unchanged}, rejected {rejected}"),
            file=self.file_name, read=t.number(self.read), created=t.number(self.created),
            updated=t.number(self.updated), unchanged=t.number(self.unchanged),
            rejected=t.number(self.rejected),
        )
        if self.quarantined:
            text += t.text(N_(", quarantined {n}"), n=t.number(self.quarantined))
        return text

    def render(self, t: Translator, limit: int = 200) -> list[str]:
        lines = [self.summary(t)]
        for problem in self.problems[:limit]:
            label = N_("rejected") if problem.rejected else N_("note")
            place = problem.where or self.file_name
            if problem.line is not None:
                place = t.text(N_("{place}, line {line}"), place=place, line=problem.line)
            lines.append(f"  {place}: {t.gettext(label)}: {problem.message.render(t)}")
        if len(self.problems) > limit:
            lines.append("  " + t.text(N_("... and {n} more"), n=t.number(len(self.problems) - limit)))
        return lines
