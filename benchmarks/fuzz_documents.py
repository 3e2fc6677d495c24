"""Fuzz the document parsers (MRZ, BCBP, VDS/VDS-NC) with random and mutated input.

Every str or bytes input must come back as a `ParseResult`; `DocumentError` is the only exception
allowed out, for input that is not text. Anything else is printed with a reproducer (the input's
repr) and makes the exit status 1. `--seed` replays a run exactly.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import random
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from edge.documents.result import ParseResult
from edge.errors import DocumentError

Input = str | bytes
_Text = TypeVar("_Text", str, bytes)
_PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F))
_SCAN_DATE = dt.date(2025, 3, 14)
# ICAO 9303 specimens (fictional Utopia holder): MRZ seeds when no generator is available.
_MRZ_SPECIMENS = (
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10",
    "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<\nD231458907UTO7408122F1204159<<<<<<<6",
    "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL8988901C4XXX4009078F96121096ZE184226B<<<<<<",
    "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<\nL8988901C4XXX4009078F9612109<<<<<<<<",
)


@dataclass
class Target:
    """One parser under fuzz, its valid seed documents and its tallies."""

    name: str
    parse: Callable[[Input, random.Random], object] | None
    seeds: list[Input] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    inputs: int = 0
    valid: int = 0
    document_errors: int = 0
    failures: int = 0
    seconds: float = 0.0


@dataclass
class Failure:
    """An unexpected exception and the input that raised it."""

    target: str
    data: object
    error: BaseException
    trace: str


def _import(module: str, name: str) -> Any:
    """`module.name`, or raise ImportError naming what is missing."""
    loaded = importlib.import_module(module)
    try:
        return getattr(loaded, name)
    except AttributeError as exc:
        raise ImportError(f"{module} has no {name}") from exc


def bcbp_target(rng: random.Random) -> Target:
    """The BCBP parser with generated passes as seeds."""
    try:
        parse_bcbp = _import("edge.documents.bcbp", "parse_bcbp")
        random_bcbp = _import("edge.documents.bcbp_gen", "random_bcbp")
    except ImportError as exc:
        return Target("bcbp", None, notes=[f"unavailable: {exc}"])

    def parse(data: Input, _: random.Random) -> object:
        return parse_bcbp(data, scan_date=_SCAN_DATE)

    seeds: list[Input] = [random_bcbp(rng, scan_date=_SCAN_DATE) for _ in range(200)]
    return Target("bcbp", parse, seeds)


def mrz_target(rng: random.Random) -> Target:
    """The MRZ parser (with and without OCR repair); generated MRZs when the generator exists."""
    try:
        parse_mrz = _import("edge.documents.mrz", "parse_mrz")
    except ImportError as exc:
        return Target("mrz", None, notes=[f"unavailable: {exc}"])

    def parse(data: Input, choice: random.Random) -> object:
        return parse_mrz(data, ocr=choice.random() < 0.5)

    target = Target("mrz", parse, list(_MRZ_SPECIMENS))
    try:
        random_mrz = _import("edge.documents.mrz_gen", "random_mrz")
        formats = _import("edge.documents.mrz_gen", "FORMATS")
        target.seeds += [random_mrz(rng, fmt) for fmt in formats for _ in range(40)]
    except Exception as exc:  # the generator is optional: fall back to the specimens, say why
        target.notes.append(f"MRZ generator not used ({exc}); mutating the ICAO specimens")
    return target


def vds_target(rng: random.Random) -> Target:
    """The seal parser (VDS bytes or hex, VDS-NC JSON) with freshly signed seals as seeds."""
    try:
        parse_seal = _import("edge.documents.vds", "parse_seal")
    except ImportError as exc:
        return Target("vds", None, notes=[f"unavailable: {exc}"])

    def parse(data: Input, _: random.Random) -> object:
        return parse_seal(data)

    target = Target("vds", parse)
    try:
        target.seeds = _seal_seeds(rng)
    except Exception as exc:  # seeds are optional: random input still runs
        target.notes.append(f"no signed seeds ({type(exc).__name__}: {exc}); random input only")
    return target


def _seal_seeds(rng: random.Random) -> list[Input]:
    """Seals (bytes and hex) and a VDS-NC document, signed by a throwaway P-256 key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    c40 = importlib.import_module("edge.documents.c40")
    gen = importlib.import_module("edge.documents.vds_gen")
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "UT"),
            x509.NameAttribute(NameOID.COMMON_NAME, "TS"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(0x5B)
        .not_valid_before(dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2034, 1, 1, tzinfo=dt.UTC))
        .sign(key, hashes.SHA256())
    )
    seeds: list[Input] = []
    for version in (3, 4):
        header = gen.encode_header(
            version=version,
            issuing_country="UTO",
            signer_id="UTTS",
            cert_reference="0005B" if version == 3 else "5B",
            issue_date=dt.date(2024, 3, 1),
            signature_date=dt.date(2024, 3, 2),
            feature_reference=0x5D,
            category=0x01,
        )
        mrz = _MRZ_SPECIMENS[4].replace("\n", "")[:64]
        features = [
            (0x02, c40.encode(mrz)),
            (0x03, bytes((rng.randint(1, 9),))),
            (0x04, bytes((90, 0, 0))),
            (0x05, c40.encode("L898902C<")),
        ]
        seal = gen.build_seal(header, features, key)
        seeds += [seal, seal.hex(), seal.hex().upper()]
    data = {"hdr": {"t": "icao.test", "v": 1, "is": "UTO"}, "msg": {"utci": "U1", "n": [1.5]}}
    seeds.append(gen.sign_vdsnc(data, key, cert))
    return seeds


def random_input(rng: random.Random, seeds: list[Input], others: list[Input]) -> object:
    """Random bytes, random text, or a mutated seed (mostly this parser's own)."""
    roll = rng.random()
    size = rng.choice((0, 1, 2, 8, 40, 60, 90, 200, 400))
    if roll < 0.15:
        return rng.randbytes(rng.randint(0, size))
    if roll < 0.30:
        return "".join(rng.choices(_PRINTABLE + "\n\r\t", k=rng.randint(0, size)))
    if roll < 0.35:
        return "".join(chr(rng.randint(0, 0x10FFFF)) for _ in range(rng.randint(0, 40)))
    if roll < 0.36:
        return rng.choice((None, 0, 1.5, [], {}, ("M1",), object()))  # must raise DocumentError
    pool = seeds if seeds and (roll < 0.95 or not others) else others
    if not pool:
        return "".join(rng.choices(_PRINTABLE, k=rng.randint(0, size)))
    data = rng.choice(pool)
    if isinstance(data, str):
        if rng.random() < 0.2:
            return mutations(rng, data.encode("latin-1", errors="replace"))
        return mutations(rng, data)
    return mutations(rng, data)


def mutations(rng: random.Random, data: _Text) -> _Text:
    """One to four mutations in a row."""
    for _ in range(rng.randint(1, 4)):
        data = mutate(rng, data)
    return data


def mutate(rng: random.Random, data: _Text) -> _Text:
    """One flip, insert, delete, replace, truncate or duplicate at a random place."""
    at = rng.randint(0, len(data))
    kind = rng.randrange(6)
    if kind == 4:
        return data[:at]
    if kind == 5:
        return data[:at] + data[at : at + rng.randint(1, 40)] + data[at:]
    if kind == 2:
        return data[:at] + data[at + 1 :]
    if isinstance(data, bytes):
        if kind == 0 and at < len(data):
            new = bytes((data[at] ^ (1 << rng.randrange(8)),))
        else:
            new = bytes((rng.randrange(256),))
    elif kind == 0 and at < len(data):
        new = chr(ord(data[at]) ^ (1 << rng.randrange(8)))
    else:
        new = rng.choice(_PRINTABLE) if rng.random() < 0.9 else chr(rng.randrange(0x100))
    if kind == 1:
        return data[:at] + new + data[at:]
    return data[:at] + new + data[at + 1 :]


def fuzz_one(target: Target, data: object, rng: random.Random, failures: list[Failure]) -> None:
    """Feed one input and tally what came back."""
    assert target.parse is not None
    target.inputs += 1
    start = time.perf_counter()
    try:
        result = target.parse(data, rng)  # type: ignore[arg-type]  # non-text inputs on purpose
    except DocumentError:
        target.document_errors += 1
        return
    except Exception as exc:  # any other exception is the finding
        target.failures += 1
        failures.append(Failure(target.name, data, exc, traceback.format_exc(limit=6)))
        return
    finally:
        target.seconds += time.perf_counter() - start
    if not isinstance(data, str | bytes):
        target.failures += 1
        failures.append(Failure(target.name, data, TypeError("no DocumentError"), ""))
    elif not isinstance(result, ParseResult):
        target.failures += 1
        failures.append(Failure(target.name, data, TypeError(f"returned {result!r}"), ""))
    elif result.valid:
        target.valid += 1


def main(argv: list[str] | None = None) -> None:
    """Run the fuzzer; exit status 1 when any parser raised unexpectedly."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1_000_000, help="inputs in total")
    parser.add_argument("--seed", type=int, default=None, help="replay a run (default: random)")
    parser.add_argument("--show", type=int, default=10, help="failures printed in full")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    targets = [mrz_target(rng), bcbp_target(rng), vds_target(rng)]
    live = [t for t in targets if t.parse is not None]
    print(f"fuzz_documents: seed {seed}, {args.count:,} inputs across {len(live)} parsers")
    for target in targets:
        for note in target.notes:
            print(f"  {target.name}: {note}")
    failures: list[Failure] = []
    start = time.perf_counter()
    others = {
        target.name: [seed for other in live if other is not target for seed in other.seeds]
        for target in live
    }
    for index in range(args.count if live else 0):
        target = live[index % len(live)]
        fuzz_one(target, random_input(rng, target.seeds, others[target.name]), rng, failures)
    elapsed = time.perf_counter() - start
    heading = ("parser", "inputs", "valid", "DocErr", "unexpected", "inputs/s")
    print("  {:<8}{:>10}{:>10}{:>8}{:>12}{:>11}".format(*heading))
    for target in targets:
        if target.parse is None:
            print(f"  {target.name:<8}{'unavailable':>10}")
            continue
        rate = target.inputs / target.seconds if target.seconds else 0.0
        print(
            f"  {target.name:<8}{target.inputs:>10,}{target.valid:>10,}"
            f"{target.document_errors:>8,}{target.failures:>12,}{rate:>11,.0f}"
        )
    total = sum(t.inputs for t in live)
    print(f"  overall: {total:,} inputs in {elapsed:.1f} s, {total / max(elapsed, 1e-9):,.0f}/s")
    for failure in failures[: args.show]:
        print(f"\nUNEXPECTED in {failure.target}: {type(failure.error).__name__}: {failure.error}")
        print(f"  reproducer: {failure.data!r}")
        if failure.trace:
            print(failure.trace.rstrip())
    if failures:
        print(f"\n{len(failures)} unexpected outcome(s); replay with --seed {seed}")
        sys.exit(1)


if __name__ == "__main__":
    main()
