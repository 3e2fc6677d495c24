"""What the technician sees and answers: step progress, verdicts, questions with defaults."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TextIO

from provisioning.changes import Change

_MARK = {"ok": "ok", "changed": "changed", "skipped": "skipped", "failed": "FAILED"}


class Lines(Protocol):
    """Where answers come from (standard input, or a script)."""

    def readline(self) -> str: ...


@dataclass
class Console:
    """Prints to `out`; asks on `out` and reads answers from `inp` when interactive."""

    out: TextIO
    inp: Lines | None = None
    interactive: bool = False
    # Reads a secret without echoing it (getpass on a terminal); None: from `inp` like the rest.
    hidden: Callable[[str], str] | None = None

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def step(self, index: int, total: int, name: str, what: str) -> None:
        self.say(f"[{index}/{total}] {name}: {what}")

    def detail(self, text: str) -> None:
        for line in text.splitlines() or [""]:
            self.say(f"      {line}")

    def change(self, change: Change, dry_run: bool) -> None:
        verb = "would " + change.action if dry_run else change.action
        head = f"{verb} {change.target}"
        if change.detail and "\n" not in change.detail:
            self.detail(f"{head} ({change.detail})")
            return
        self.detail(head)
        if change.detail:
            self.detail("  " + change.detail.replace("\n", "\n  "))

    def verdict(self, name: str, verdict: str, summary: str) -> None:
        self.say(f"      => {name}: {_MARK.get(verdict, verdict)}, {summary}")

    def ask(self, question: str, default: str, *, secret: bool = False) -> str:
        """The answer, or `default` when not interactive, on an empty line or at end of input.

        A `secret` is read without echo where `hidden` can, and its default is not shown (an
        enrollment token stays off the screen).
        """
        if not self.interactive or self.inp is None:
            return default
        shown = f" [{'given, Enter keeps it' if secret else default}]" if default else ""
        prompt = f"? {question}{shown}: "
        if secret and self.hidden is not None:
            try:
                return self.hidden(prompt).strip() or default
            except EOFError:
                self.say()
                return default
        print(prompt, end="", file=self.out, flush=True)
        line = self.inp.readline()
        if not line:
            self.say()
            return default
        return line.strip() or default

    def confirm(self, question: str, default: bool = True) -> bool:
        answer = self.ask(question + (" (Y/n)" if default else " (y/N)"), "")
        if not answer:
            return default
        return answer.lower() in ("y", "yes")

    def wait_enter(self, prompt: str) -> bool:
        """Ask the technician to do something; False when they type `s` to skip it."""
        answer = self.ask(prompt + " (Enter when done, s to skip)", "")
        return answer.lower() not in ("s", "skip")
