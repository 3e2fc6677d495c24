"""The `share_lost:<sink>` alarm: raised per new loss, quiet once acknowledged, across restarts."""

from __future__ import annotations

import stat
from pathlib import Path

from edge.alarms import Acknowledged, Alarms
from edge.share_loss import ACKNOWLEDGED_FILE, ShareLosses

CODE = "share_lost:nas"


def active(alarms: Alarms) -> list[str]:
    return [a.code for a in alarms.active()]


async def test_an_acknowledged_loss_stays_quiet_until_it_changes(tmp_path: Path) -> None:
    alarms = Alarms()
    losses = ShareLosses(tmp_path, alarms)
    losses.found("nas", 2, "4-5")
    (alarm,) = alarms.active()
    assert alarm.code == CODE and alarm.ack_required
    assert "2 records" in alarm.message and "seqs 4-5" in alarm.message
    losses.found("nas", 2, "4-5")  # the same loss, still waiting: raised once
    assert active(alarms) == [CODE]

    assert alarms.acknowledge(CODE) is Acknowledged.DONE
    losses.found("nas", 2, "4-5")
    assert active(alarms) == []

    losses.found("nas", 3, "4-5,9")  # more is gone
    (alarm,) = alarms.active()
    assert "3 records" in alarm.message and "seqs 4-5,9" in alarm.message

    losses.found("nas", 2, "4-5")  # back to the acknowledged loss: the other alarm ends
    assert active(alarms) == []
    losses.found("nas", 3, "4-5,9")
    assert active(alarms) == [CODE]

    losses.found("nas", 0, "")  # restored from a backup: cleared, acknowledgement forgotten
    assert active(alarms) == []
    losses.found("nas", 2, "4-5")
    assert active(alarms) == [CODE]
    await losses.flush()


async def test_the_acknowledgement_survives_a_restart(tmp_path: Path) -> None:
    alarms = Alarms()
    losses = ShareLosses(tmp_path, alarms)
    losses.found("nas", 2, "4-5")
    losses.found("other", 1, "7")
    assert alarms.acknowledge(CODE) is Acknowledged.DONE
    await losses.flush()
    path = tmp_path / ACKNOWLEDGED_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == b'{"nas":"4-5"}'  # seq ranges only

    alarms = Alarms()  # the daemon restarted
    losses = ShareLosses(tmp_path, alarms)
    losses.found("nas", 2, "4-5")
    losses.found("other", 1, "7")  # never acknowledged: raised again
    assert active(alarms) == ["share_lost:other"]


async def test_an_unreadable_file_raises_the_known_loss_again(tmp_path: Path) -> None:
    (tmp_path / ACKNOWLEDGED_FILE).write_bytes(b"not json")
    alarms = Alarms()
    losses = ShareLosses(tmp_path, alarms)
    losses.found("nas", 2, "4-5")
    assert active(alarms) == [CODE]
