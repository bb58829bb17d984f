"""A synthetic IRS master file of FICTIONAL taxpayers, for the matcher and tests.

``MasterFile.generate(n, seed)`` is deterministic for a seed. Everything in it is
made up:

* names come from small built-in lists of invented surnames and common given names;
* addresses are well-formed (every one classifies as usable under the address
  rules) but their cities are invented; ZIP codes lie in the real range of the
  state so that the rules accept them; some records share a household address;
* TINs follow a scheme no real person can hold an SSN under. ITINs have the real
  ITIN shape (9 digits, first digit 9, fourth and fifth digits in 50-65, 70-88,
  90-92 or 94-99), so a generated ITIN may coincide with a real one by chance:
  nothing else about the record is real. "SSNs" use area number 666, which the
  Social Security Administration has never assigned and still excludes (with 000
  and 900-999) since it randomised SSNs in 2011; group 01-99, serial 0001-9999.

Lookups are by normalised TIN and by (normalised name, normalised address), the
two ways the matcher can find a taxpayer.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta

from ledger.core.errors import FormatError
from ledger.domain.address import normalise_address
from ledger.domain.matcher import TinFormatError, normalise_name, normalise_tin

TIN_TYPES = ("ITIN", "SSN")
FICTIONAL_SSN_AREA = "666"
ITIN_GROUPS: tuple[int, ...] = (
    tuple(range(50, 66)) + tuple(range(70, 89)) + (90, 91, 92) + tuple(range(94, 100))
)

_GIVEN = (
    "Maria", "Jose", "Ana", "Luis", "Carmen", "Juan", "Rosa", "Carlos", "Elena", "Miguel",
    "Lucia", "Pedro", "Sofia", "Jorge", "Isabel", "Diego", "Marta", "Pablo", "Teresa", "Hugo",
    "Linh", "Minh", "Wei", "Mei", "Amina", "Omar", "Fatima", "Yusuf", "Grace", "Samuel",
    "Ruth", "Daniel", "Esther", "Tomas", "Irene", "Nadia", "Ivan", "Olga", "Kofi", "Ama",
)
_SURNAMES = (
    "Altamar", "Brisendo", "Calderwin", "Duvanel", "Estravo", "Farrowdel", "Galvarino",
    "Hollister-Vey", "Ibarrondo", "Jasperine", "Kestrano", "Lorvaldi", "Marisqueta",
    "Navarrete-Oruz", "Olmedalo", "Penafrio", "Quintarro", "Rosalvine", "Sandoveral",
    "Tremontano", "Ulloaga", "Valcarcio", "Wendimar", "Xalapenro", "Yberrosa", "Zamarcillo",
    "Abrenica", "Belmorado", "Cienfuerte", "Dorantel", "Escobarra", "Fontanilo", "Guzmarel",
    "Hidalverde", "Iturbane", "Jimarro", "Lunaverde", "Mendivar", "Nunamaker", "Ortegon",
)
# (state, 3-digit ZIP prefix in that state's real range, invented cities)
_PLACES = (
    ("IL", "627", ("Maple Hollow", "Prairie Bend")), ("TX", "787", ("Cedar Bluff", "Mesquite Flats")),
    ("CA", "945", ("Oakmere", "Larkspur Hills")), ("FL", "331", ("Palmetto Cove", "Coral Reach")),
    ("NY", "112", ("Harrowgate", "Stonebridge")), ("AZ", "850", ("Copper Ridge", "Saguaro Wells")),
    ("GA", "303", ("Peachwood", "Red Clay")), ("NC", "276", ("Pinecrest Falls", "Tarwell")),
    ("WA", "981", ("Fernwood", "Cascade Point")), ("CO", "802", ("Aspen Draw", "Granite Park")),
    ("NM", "871", ("Mesa Lucero", "Piedra Alta")), ("NV", "891", ("Sagebrush", "Silver Mesa")),
    ("OR", "972", ("Willow Ford", "Mossgrove")), ("IA", "503", ("Cornell Grove", "Amberly")),
    ("KS", "660", ("Sunflower Gap", "Wheatland Center")), ("NJ", "070", ("Brightwater", "Elmstead")),
    ("MA", "021", ("Quarry Hill", "Old Harbor")), ("MN", "554", ("Loon Lake", "Birchwood")),
    ("UT", "841", ("Juniper Flats", "Red Butte")), ("TN", "372", ("Fiddler Creek", "Magnolia Run")),
    ("PA", "191", ("Fenwick", "Keystone Mills")), ("OH", "432", ("Buckeye Hollow", "Riverbend")),
)
_PR_PLACES = (("009", "Villa Serena"), ("007", "Monte Claro"), ("006", "Rio Sereno"))
_STREETS = ("Larkspur", "Maple", "Cedar", "Juniper", "Willow", "Granite", "Harbor", "Mesa",
            "Sycamore", "Lantern", "Quarry", "Orchard", "Meadowlark", "Copperleaf", "Bluebonnet")
_SUFFIXES = ("St", "Ave", "Rd", "Dr", "Ln", "Ct", "Blvd", "Way", "Pl", "Ter")
_URBS = ("Las Gladiolas Ficticias", "Villa Imaginaria", "Jardines del Ensueno", "Parque Inventado")
_CALLES = ("Luna", "Sol", "Estrella", "Coral", "Brisa", "A", "B", "5", "12")
# (share, kind); the shares add up to 100.
_KINDS = ((58, "street"), (10, "po_box"), (8, "rural_route"), (6, "military"),
          (10, "pr_urbanization"), (8, "territory"))


@dataclass(frozen=True)
class TaxpayerRecord:
    """One fictional taxpayer as the IRS would hold it."""

    tin: str
    tin_type: str
    name: str
    address: str
    dob: str | None = None

    def __repr__(self) -> str:  # never print a TIN, name or address by accident
        return f"TaxpayerRecord(tin_type={self.tin_type!r}, ...)"


class MasterFile:
    """An immutable set of taxpayer records with the two lookups the matcher needs."""

    def __init__(self, records: Iterable[TaxpayerRecord],
                 identity_keys: Sequence[tuple[str, str]] | None = None) -> None:
        """``identity_keys``: each record's (normalised name, normalised address), computed earlier by
        this version of the rules (the matcher's store keeps them); else they are computed here."""
        self._records = tuple(records)
        self._by_tin: dict[str, TaxpayerRecord] = {}
        self._keys: dict[str, tuple[str, str]] = {}
        self._by_identity: dict[tuple[str, str], list[TaxpayerRecord]] = {}
        if identity_keys is not None and len(identity_keys) != len(self._records):
            raise FormatError(f"{len(identity_keys)} identity keys for {len(self._records)} records")
        for i, record in enumerate(self._records):
            if record.tin_type not in TIN_TYPES:
                raise FormatError(f"tin_type must be one of {TIN_TYPES}")
            tin = normalise_tin(record.tin)
            if tin in self._by_tin:
                raise FormatError("two master-file records share one TIN")
            keys = identity_keys[i] if identity_keys is not None else \
                (normalise_name(record.name), normalise_address(record.address))
            self._by_tin[tin] = record
            self._keys[tin] = keys
            self._by_identity.setdefault(keys, []).append(record)

    @property
    def records(self) -> tuple[TaxpayerRecord, ...]:
        """All records, in generation (or load) order."""
        return self._records

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[TaxpayerRecord]:
        return iter(self._records)

    def by_tin(self, tin: str | None) -> TaxpayerRecord | None:
        """The record with this TIN (any usual layout), or None; a malformed TIN finds nothing."""
        if tin is None:
            return None
        try:
            return self._by_tin.get(normalise_tin(tin))
        except TinFormatError:
            return None

    def by_name_address(self, name: str | None, address: str | None) -> tuple[TaxpayerRecord, ...]:
        """Records whose normalised name and normalised address both equal these."""
        return self.by_identity_keys(normalise_name(name), normalise_address(address))

    def by_identity_keys(self, name_key: str, address_key: str) -> tuple[TaxpayerRecord, ...]:
        """Like ``by_name_address`` for a name and address already normalised."""
        if not name_key or not address_key:
            return ()
        return tuple(self._by_identity.get((name_key, address_key), ()))

    def identity_keys(self, record: TaxpayerRecord) -> tuple[str, str]:
        """(normalised name, normalised address) of a record of this file."""
        return self._keys[normalise_tin(record.tin)]

    @classmethod
    def generate(cls, n: int, seed: int) -> MasterFile:
        """``n`` fictional records; the same ``(n, seed)`` always gives the same file."""
        if n < 0:
            raise ValueError("n must be >= 0")
        rng = random.Random(seed)  # noqa: S311 - reproducible test data, not a secret
        tins: set[str] = set()
        records: list[TaxpayerRecord] = []
        for _ in range(n):
            tin_type = "ITIN" if rng.random() < 0.7 else "SSN"
            tin = _new_tin(rng, tin_type, tins)
            if records and rng.random() < 0.12:
                # another member of an existing household: same address and surname
                host = rng.choice(records)
                surname = next(w for w in reversed(host.name.split()) if w != "Jr")
                name = f"{rng.choice(_GIVEN)} {surname}"
                if name == host.name:
                    name += " Jr"
                address = host.address
            else:
                name = _new_name(rng)
                address = _new_address(rng)
            records.append(TaxpayerRecord(tin, tin_type, name, address, _new_dob(rng)))
        return cls(records)

    def to_jsonl(self) -> str:
        """The file as JSON Lines (one record per line, keys sorted)."""
        return "".join(json.dumps(asdict(r), sort_keys=True) + "\n" for r in self._records)

    @classmethod
    def from_jsonl(cls, text: str) -> MasterFile:
        """Read a file written by ``to_jsonl``."""
        records = []
        for line in text.splitlines():
            if line.strip():
                data = json.loads(line)
                records.append(TaxpayerRecord(
                    str(data["tin"]), str(data["tin_type"]), str(data["name"]),
                    str(data["address"]), data.get("dob"),
                ))
        return cls(records)


def _new_tin(rng: random.Random, tin_type: str, taken: set[str]) -> str:
    while True:
        if tin_type == "ITIN":
            tin = f"9{rng.randint(0, 99):02d}{rng.choice(ITIN_GROUPS):02d}{rng.randint(0, 9999):04d}"
        else:
            tin = f"{FICTIONAL_SSN_AREA}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"
        if tin not in taken:
            taken.add(tin)
            return tin


def _new_name(rng: random.Random) -> str:
    given = rng.choice(_GIVEN)
    middle = f" {rng.choice('ABCDEFGHJKLMNPRSTV')}" if rng.random() < 0.3 else ""
    return f"{given}{middle} {rng.choice(_SURNAMES)}"


def _new_dob(rng: random.Random) -> str:
    return (date(1950, 1, 1) + timedelta(days=rng.randint(0, 20_000))).isoformat()


def _new_address(rng: random.Random) -> str:
    roll = rng.randint(1, 100)
    kind = "street"
    for share, name in _KINDS:
        if roll <= share:
            kind = name
            break
        roll -= share
    state, prefix, cities = rng.choice(_PLACES)
    city = rng.choice(cities)
    zip5 = f"{prefix}{rng.randint(1, 99):02d}"
    if kind == "po_box":
        return f"PO Box {rng.randint(1, 99999)}, {city}, {state} {zip5}"
    if kind == "rural_route":
        route = rng.choice(("RR", "HC"))
        return f"{route} {rng.randint(1, 9)} Box {rng.randint(1, 9999)}, {city}, {state} {zip5}"
    if kind == "military":
        line = rng.choice(("PSC", "Unit", "CMR"))
        post, mil_state, mil_prefix = rng.choice((("APO", "AE", "092"), ("FPO", "AP", "965"),
                                                  ("DPO", "AA", "340")))
        return (f"{line} {rng.randint(100, 9999)} Box {rng.randint(1, 9999)}, {post} {mil_state} "
                f"{mil_prefix}{rng.randint(1, 99):02d}")
    if kind == "pr_urbanization":
        pr_prefix, pr_city = rng.choice(_PR_PLACES)
        return (f"URB {rng.choice(_URBS)}, {rng.randint(1, 2999)} Calle {rng.choice(_CALLES)}, "
                f"{pr_city}, PR {pr_prefix}{rng.randint(1, 99):02d}")
    if kind == "territory":
        code, t_prefix, t_city = rng.choice((("PR", "009", "Villa Serena"), ("VI", "008", "Bay Harbor"),
                                             ("GU", "969", "Tasi Point")))
        return (f"{rng.randint(1, 999)} {rng.choice(_STREETS)} {rng.choice(_SUFFIXES)}, {t_city}, "
                f"{code} {t_prefix}{rng.randint(10, 50)}")
    unit = f" Apt {rng.randint(1, 40)}{rng.choice('ABCD')}" if rng.random() < 0.25 else ""
    direction = f"{rng.choice(('N', 'S', 'E', 'W'))} " if rng.random() < 0.2 else ""
    return (f"{rng.randint(1, 19999)} {direction}{rng.choice(_STREETS)} {rng.choice(_SUFFIXES)}{unit}, "
            f"{city}, {state} {zip5}")
