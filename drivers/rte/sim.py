"""RTE reader simulators: native (unsolicited), interrupt and polled (locked until Enable)."""

from __future__ import annotations

from typing import Any, ClassVar

from drivers.rte.driver import DEFAULT_ENABLE
from drivers.rte.framer import encode
from drivers.sim.device import SimDevice


class RteSim(SimDevice):
    """Sends an RTE frame per presented document."""

    profile: ClassVar[str] = "rte-native"
    description: ClassVar[str] = "3M/Gemalto RTE Native swipe reader (unsolicited frames)"
    driver: ClassVar[str] = "mrz-rte"
    mode: ClassVar[str] = "native"

    def __init__(
        self, *, bcc: bool = False, length_covers: str = "body", flag: int = 0x30, **kw: Any
    ) -> None:
        super().__init__(**kw)  # link / socket / seed
        self.bcc = bcc
        self.length_covers = length_covers
        self.flag = flag
        self.corrupt_next_bcc = False
        self.enabled = self.mode == "native"
        self.enables = 0
        self._held: list[bytes] = []

    def options(self) -> dict[str, object]:
        return {"mode": self.mode, "bcc": self.bcc, "length_covers": self.length_covers}

    def encode(self, item: str | bytes) -> bytes:
        text = item.decode("latin-1") if isinstance(item, bytes) else item
        corrupt, self.corrupt_next_bcc = self.corrupt_next_bcc, False
        return encode(
            text.splitlines(),
            flag=self.flag,
            bcc=self.bcc,
            length_covers=self.length_covers,
            corrupt_bcc=corrupt,
        )

    async def send_read(self, frame: bytes) -> None:
        if self.enabled:
            await self._send_read(frame)
        else:
            self._held.append(frame)  # locked: the reader keeps the read until enabled

    async def _send_read(self, frame: bytes) -> None:
        await self.write(frame)
        if self.mode == "polled":
            self.enabled = False

    def on_unplug(self) -> None:
        self.enabled = self.mode == "native"
        self.inbox.clear()

    def on_host(self, data: bytes) -> None:
        if self.mode == "native":
            self.inbox.clear()  # RTE Native accepts no commands
            return
        while (at := self.inbox.find(DEFAULT_ENABLE)) >= 0:
            del self.inbox[: at + len(DEFAULT_ENABLE)]
            self.commands.append(DEFAULT_ENABLE)
            if self.take_failure():
                continue  # ignored, as by a reader that missed the command
            self.enables += 1
            self.enabled = True
            # Interrupt: everything held goes out; Polled: one read per Enable.
            while self._held and self.enabled:
                if self.mode == "polled":
                    self.enabled = False
                self.reply(self._held.pop(0))


class RteInterruptSim(RteSim):
    profile: ClassVar[str] = "rte-interrupt"
    description: ClassVar[str] = "RTE Interrupt: silent until the host sends Enable once"
    mode: ClassVar[str] = "interrupt"


class RtePolledSim(RteSim):
    profile: ClassVar[str] = "rte-polled"
    description: ClassVar[str] = "RTE Polled: one read per Enable"
    mode: ClassVar[str] = "polled"
