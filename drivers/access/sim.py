"""Access-IS reader in Standard Access Configuration (`STX sym data CR ETX`) or Raw Data mode."""

from __future__ import annotations

from typing import Any, ClassVar

from drivers.access.framer import encode_raw, encode_stx
from drivers.honeywell import MenuState, take_commands
from drivers.options import escaped
from drivers.sim.device import SimDevice

DIGITS = tuple("0123456789")


class AccessStxSim(SimDevice):
    """Each presented barcode payload is one read in the current `symbology`; menu commands
    are echoed with ACK, ENQ (unknown tag/subtag) or NAK (bad data, or `fail_next`)."""

    profile: ClassVar[str] = "access-standard"
    description: ClassVar[str] = "Access-IS Standard Access Configuration: STX sym data CR ETX"
    driver: ClassVar[str] = "access-stx"
    carries: ClassVar[str] = "barcode"

    def __init__(
        self,
        *,
        mode: str = "standard",
        symbology: str = "pdf417",
        terminator: bytes = b"",
        **kw: Any,
    ) -> None:
        super().__init__(**kw)
        if mode not in ("standard", "raw"):
            raise ValueError("mode: expected standard or raw")
        self.mode = mode
        self.symbology = symbology
        self.terminator = terminator
        self.menu = MenuState(
            allowed={
                "AISINF": ("0", "1", "2", "3"),
                "AISBAU": DIGITS,
                "AISSCP": DIGITS,
                "AISKBL": DIGITS,
                "ALLENA": ("0", "1"),
            },
            values={"AISINF": "1", "AISBAU": "9", "AISSCP": "2", "AISKBL": "0", "ALLENA": "1"},
        )

    def options(self) -> dict[str, object]:
        if self.mode == "standard":
            return {"mode": "standard"}
        return {"mode": "raw", "terminator": escaped(self.terminator)}

    def encode(self, item: str | bytes) -> bytes:
        data = item.encode("latin-1") if isinstance(item, str) else item
        if self.mode == "standard":
            return encode_stx(data, self.symbology)
        return encode_raw(data, self.symbology, self.terminator)

    async def present(self, item: str | bytes, *, repeat: int = 1, truncate: int = 0) -> bytes:
        if self.menu.values["ALLENA"] == "0":
            return self.encode(item)  # every symbology disabled: nothing is read
        return await super().present(item, repeat=repeat, truncate=truncate)

    def on_host(self, data: bytes) -> None:
        for command in take_commands(self.inbox):
            self.commands.append(command.raw)
            if command.kind != "menu":
                continue  # no serial trigger documented for these readers: ignored
            self.reply(self.menu.answer(command.body, refuse=self.take_failure()))

    def on_unplug(self) -> None:
        self.inbox.clear()
