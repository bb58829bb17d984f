"""Word lists and tables behind the address rules (``ledger.domain.address``).

Data only, no logic: changing anything here changes verdicts, so it goes with a
new ``ADDRESS_RULES_VERSION``. Spellings are upper case, without punctuation
(the form the tokeniser produces).
"""

from __future__ import annotations

# USPS state, territory and military "state" codes -> allowed first digits of the
# ZIP code. Each entry is the state's own ZIP region plus its land neighbours'
# (a few ZIP codes cross state lines, so the check is deliberately loose: it
# catches "Miami, FL 12345", not a border town).
STATE_ZIP_FIRST_DIGITS: dict[str, str] = {
    "AL": "3", "AK": "9", "AZ": "89", "AR": "367", "CA": "89", "CO": "678",
    "CT": "01", "DE": "012", "DC": "2", "FL": "3", "GA": "23", "HI": "9",
    "ID": "589", "IL": "456", "IN": "46", "IA": "56", "KS": "678",
    "KY": "2346", "LA": "37", "ME": "0", "MD": "12", "MA": "01", "MI": "45",
    "MN": "5", "MS": "37", "MO": "34567", "MT": "58", "NE": "568", "NV": "89",
    "NH": "0", "NJ": "01", "NM": "78", "NY": "01", "NC": "23", "ND": "5",
    "OH": "124", "OK": "678", "OR": "89", "PA": "0124", "RI": "0", "SC": "23",
    "SD": "568", "TN": "23467", "TX": "78", "UT": "8", "VT": "01", "VA": "234",
    "WA": "89", "WV": "124", "WI": "456", "WY": "568",
}

# Territories, freely associated states and military codes: exact ZIP prefixes.
EXACT_ZIP_PREFIXES: dict[str, tuple[str, ...]] = {
    "PR": ("006", "007", "009"),
    "VI": ("008",),
    "GU": ("969",),
    "MP": ("969",),
    "FM": ("969",),
    "MH": ("969",),
    "PW": ("969",),
    "AS": ("967",),
    "AA": ("340",),
    "AE": ("090", "091", "092", "093", "094", "095", "096", "097", "098"),
    "AP": ("962", "963", "964", "965", "966"),
}

STATE_CODES: frozenset[str] = frozenset(STATE_ZIP_FIRST_DIGITS) | frozenset(EXACT_ZIP_PREFIXES)
MILITARY_STATES: frozenset[str] = frozenset({"AA", "AE", "AP"})
MILITARY_CITIES: frozenset[str] = frozenset({"APO", "FPO", "DPO"})

# Two-letter codes that are also USPS street suffixes (Court, Mount, Prairie, Key):
# without a ZIP after them they are not taken as a state unless set off by a comma.
SUFFIX_LIKE_STATE_CODES: frozenset[str] = frozenset({"CT", "MT", "PR", "KY"})

STATE_NAMES: dict[str, str] = {
    "ALABAMA": "AL", "ALASKA": "AK", "ARIZONA": "AZ", "ARKANSAS": "AR",
    "CALIFORNIA": "CA", "COLORADO": "CO", "CONNECTICUT": "CT", "DELAWARE": "DE",
    "DISTRICT OF COLUMBIA": "DC", "FLORIDA": "FL", "GEORGIA": "GA", "HAWAII": "HI",
    "IDAHO": "ID", "ILLINOIS": "IL", "INDIANA": "IN", "IOWA": "IA", "KANSAS": "KS",
    "KENTUCKY": "KY", "LOUISIANA": "LA", "MAINE": "ME", "MARYLAND": "MD",
    "MASSACHUSETTS": "MA", "MICHIGAN": "MI", "MINNESOTA": "MN", "MISSISSIPPI": "MS",
    "MISSOURI": "MO", "MONTANA": "MT", "NEBRASKA": "NE", "NEVADA": "NV",
    "NEW HAMPSHIRE": "NH", "NEW JERSEY": "NJ", "NEW MEXICO": "NM", "NEW YORK": "NY",
    "NORTH CAROLINA": "NC", "NORTH DAKOTA": "ND", "OHIO": "OH", "OKLAHOMA": "OK",
    "OREGON": "OR", "PENNSYLVANIA": "PA", "RHODE ISLAND": "RI",
    "SOUTH CAROLINA": "SC", "SOUTH DAKOTA": "SD", "TENNESSEE": "TN", "TEXAS": "TX",
    "UTAH": "UT", "VERMONT": "VT", "VIRGINIA": "VA", "WASHINGTON": "WA",
    "WEST VIRGINIA": "WV", "WISCONSIN": "WI", "WYOMING": "WY",
    "PUERTO RICO": "PR", "VIRGIN ISLANDS": "VI", "US VIRGIN ISLANDS": "VI",
    "USVI": "VI", "D C": "DC", "P R": "PR", "GUAM": "GU", "AMERICAN SAMOA": "AS",
    "NORTHERN MARIANA ISLANDS": "MP", "NORTHERN MARIANAS": "MP", "PALAU": "PW",
    "MARSHALL ISLANDS": "MH", "FEDERATED STATES OF MICRONESIA": "FM", "MICRONESIA": "FM",
    "ARMED FORCES AMERICAS": "AA", "ARMED FORCES EUROPE": "AE", "ARMED FORCES PACIFIC": "AP",
    # Traditional (AP style) abbreviations, periods already removed.
    "ALA": "AL", "ARIZ": "AZ", "ARK": "AR", "CALIF": "CA", "CAL": "CA", "COLO": "CO",
    "CONN": "CT", "DEL": "DE", "FLA": "FL", "ILL": "IL", "IND": "IN", "KAN": "KS",
    "KANS": "KS", "MASS": "MA", "MICH": "MI", "MINN": "MN", "MISS": "MS", "MONT": "MT",
    "NEB": "NE", "NEBR": "NE", "NEV": "NV", "OKLA": "OK", "ORE": "OR", "OREG": "OR",
    "PENN": "PA", "PENNA": "PA", "TENN": "TN", "TEX": "TX", "WASH": "WA", "WIS": "WI",
    "WISC": "WI", "WYO": "WY", "WVA": "WV",
}
MAX_STATE_WORDS = 4

COUNTRY_US: frozenset[str] = frozenset(
    {"USA", "US", "UNITED STATES", "UNITED STATES OF AMERICA", "AMERICA", "EEUU", "EE UU"}
)

# Country names that end a foreign address (the words that also name US places,
# such as Mexico MO or Peru IN, only count when nothing follows them).
FOREIGN_COUNTRIES: frozenset[str] = frozenset({
    "MEXICO", "CANADA", "GUATEMALA", "HONDURAS", "EL SALVADOR", "NICARAGUA", "COSTA RICA",
    "PANAMA", "COLOMBIA", "VENEZUELA", "ECUADOR", "PERU", "BRAZIL", "BRASIL", "ARGENTINA",
    "CHILE", "BOLIVIA", "PARAGUAY", "URUGUAY", "CUBA", "HAITI", "DOMINICAN REPUBLIC",
    "REPUBLICA DOMINICANA", "JAMAICA", "UNITED KINGDOM", "UK", "GREAT BRITAIN", "ENGLAND",
    "SCOTLAND", "WALES", "IRELAND", "GERMANY", "DEUTSCHLAND", "FRANCE", "SPAIN", "ESPANA",
    "ITALY", "ITALIA", "PORTUGAL", "NETHERLANDS", "BELGIUM", "POLAND", "UKRAINE", "RUSSIA",
    "ROMANIA", "INDIA", "PAKISTAN", "BANGLADESH", "CHINA", "JAPAN", "KOREA", "SOUTH KOREA",
    "VIETNAM", "VIET NAM", "PHILIPPINES", "INDONESIA", "THAILAND", "NEPAL", "NIGERIA",
    "GHANA", "KENYA", "ETHIOPIA", "SOMALIA", "EGYPT", "MOROCCO", "SENEGAL", "AUSTRALIA",
    "NEW ZEALAND", "ISRAEL", "IRAN", "IRAQ", "SYRIA", "AFGHANISTAN", "TURKEY", "TURKIYE",
})

# Phrases that never occur in a real address: anywhere in the text they make it a
# placeholder ("Don't Care 12345", "Homeless - no fixed address").
PLACEHOLDER_PHRASES: tuple[tuple[str, ...], ...] = tuple(
    tuple(p.split()) for p in (
        "FAILED TO PROVIDE", "FAIL TO PROVIDE", "FAILED TO PROVIDED", "NOT PROVIDED",
        "NONE PROVIDED", "NOTHING PROVIDED", "NO ADDRESS", "NO ADDR", "ADDRESS UNKNOWN",
        "UNKNOWN ADDRESS", "ADDR UNKNOWN", "UNKNOWN ADDR", "ADDRESS NOT", "NOT AVAILABLE",
        "NOT APPLICABLE", "NOT KNOWN", "NOT GIVEN", "NOT STATED", "NOT ON FILE",
        "NOT REPORTED", "NOT FOUND", "NO FIXED", "NO PERMANENT ADDRESS", "NO MAILING ADDRESS",
        "NO STREET ADDRESS", "DONT CARE", "DO NOT CARE", "DONT KNOW", "DO NOT KNOW",
        "TO BE DETERMINED", "TO BE PROVIDED", "TO BE ANNOUNCED", "TO FOLLOW", "SAME AS ABOVE",
        "SAME AS", "SEE ABOVE", "SEE BELOW", "SEE ATTACHED", "SEE FILE", "SEE NOTES",
        "NA NA", "NULL NULL", "NONE NONE", "UNKNOWN UNKNOWN", "NO DATA", "NO INFO",
        "NO INFORMATION", "REFUSED TO PROVIDE", "DECLINED TO PROVIDE", "DECLINED TO STATE",
        "ADDRESS LINE", "STREET ADDRESS", "CITY STATE ZIP", "CITY STATE", "STATE ZIP",
        "ANY STREET", "ANY ST", "ANY TOWN", "ANY CITY", "ANYWHERE USA", "FAKE STREET",
        "FAKE ST", "INVALID ADDRESS", "BAD ADDRESS", "RETURN TO SENDER", "RETURNED MAIL",
        "MAIL RETURNED", "LAST KNOWN UNKNOWN", "IN CUSTODY", "OUT OF COUNTRY",
        "LEFT COUNTRY", "LEFT THE COUNTRY", "TEST ADDRESS", "FAILED TO", "FAIL TO",
        "UNABLE TO", "REFUSED TO", "DECLINED TO", "FAKE ADDRESS", "NONE GIVEN",
        "NO LONGER AT", "NO KNOWN", "WHEREABOUTS UNKNOWN", "ADDRESS TBD",
    )
)

# Single words that are a placeholder when they make up a whole part of the text
# (a comma- or line-separated part, the city, or the street name): "Unknown, Miami".
PLACEHOLDER_WORDS: frozenset[str] = frozenset({
    "UNKNOWN", "UNK", "UNKN", "UNKWN", "UNKNWN", "UKN", "UNKOWN", "NA", "NONE", "NULL", "NIL",
    "NAN", "UNDEFINED", "BLANK", "EMPTY", "MISSING", "TBD", "TBA", "TBC", "PENDING",
    "REFUSED", "DECLINED", "HOMELESS", "TRANSIENT", "UNHOUSED", "SAME", "TEST", "TESTING",
    "DUMMY", "FAKE", "SAMPLE", "EXAMPLE", "PLACEHOLDER", "DEFAULT", "WITHHELD", "REDACTED",
    "CONFIDENTIAL", "UNAVAILABLE", "INVALID", "DEPORTED", "REMOVED", "ABSCONDED",
    "DECEASED", "MOVED", "UNDELIVERABLE", "ADDRESS", "ADDR", "CITY", "STATE",
    "ZIP", "ZIPCODE", "COUNTRY", "NK", "DK", "NFA", "NOADDRESS", "ANYTOWN", "ANYCITY",
    "ANYWHERE", "SOMEWHERE", "NOWHERE", "NOTAPPLICABLE", "NOTAVAILABLE", "NONAME",
    "ANY", "X", "XX", "NINGUNO", "NINGUNA", "DESCONOCIDO", "DESCONOCIDA", "DETAINED",
    "INCARCERATED", "JAILED", "UNVERIFIED", "VARIOUS", "MULTIPLE",
})

# Words that may stand beside a placeholder word in a placeholder part
# ("Unknown at this time", "Refused to give", "None given").
PLACEHOLDER_FILLERS: frozenset[str] = frozenset({
    "TO", "BE", "PROVIDE", "PROVIDED", "GIVEN", "GIVE", "AVAILABLE", "KNOWN", "ON", "FILE",
    "AT", "THIS", "TIME", "THE", "OF", "IN", "BY", "NOT", "NO", "YET", "AS", "IS", "WAS",
    "ADDRESS", "ADDR", "REQUESTED", "LISTED", "SUPPLIED", "RECORD", "RECORDS", "INFO", "DATA",
    "ENTERED", "AND", "OR", "STREET", "LAST", "CURRENT", "PRESENT", "RESIDENCE", "HOME",
    "MAILING", "PHYSICAL", "LINE", "ADDRESS1", "ADDRESS2", "FIELD", "VALUE", "TAXPAYER",
    "SUBJECT", "ALIEN", "PERSON", "FOR", "THEM", "HIM", "HER", "REPORTED", "STATED", "FOUND",
})

# Placeholder words that also name real streets or places (State St, Sample Rd,
# City Ave) or are too short to judge: they count only when a whole part is made
# of placeholder words, never for a street name or beside a number.
WEAK_PLACEHOLDER_WORDS: frozenset[str] = frozenset({
    "STATE", "CITY", "COUNTRY", "SAMPLE", "SAME", "TEST", "TESTING", "BLANK", "EMPTY", "MOVED",
    "REMOVED", "VARIOUS", "MULTIPLE", "DEFAULT", "ADDRESS", "ADDR", "ZIP", "ZIPCODE", "DK",
    "NK", "X", "XX", "ANY", "EXAMPLE", "PENDING", "INVALID",
})
STRONG_PLACEHOLDER_WORDS: frozenset[str] = PLACEHOLDER_WORDS - WEAK_PLACEHOLDER_WORDS

# Words that only appear in placeholder addresses, wherever they are.
PLACEHOLDER_ANYWHERE: frozenset[str] = frozenset({
    "ANYTOWN", "ANYCITY", "ANYWHERE", "PLACEHOLDER", "UNDEFINED", "NOADDRESS",
})

PLACEHOLDER_ZIPS: frozenset[str] = frozenset({"00000", "99999"})

# USPS street suffixes (Publication 28, appendix C1, the common ones): full word or
# variant -> standard abbreviation. Standard abbreviations map to themselves.
STREET_SUFFIXES: dict[str, str] = {
    "ALLEY": "ALY", "ALY": "ALY", "ANNEX": "ANX", "ARCADE": "ARC", "AVENUE": "AVE",
    "AVE": "AVE", "AV": "AVE", "AVEN": "AVE", "AVENIDA": "AVE", "BAYOU": "BYU", "BEACH": "BCH",
    "BEND": "BND", "BLUFF": "BLF", "BOULEVARD": "BLVD", "BLVD": "BLVD", "BOUL": "BLVD",
    "BRANCH": "BR", "BRIDGE": "BRG", "BROOK": "BRK", "BYPASS": "BYP", "CAMP": "CP",
    "CANYON": "CYN", "CAUSEWAY": "CSWY", "CENTER": "CTR", "CENTRE": "CTR", "CTR": "CTR",
    "CIRCLE": "CIR", "CIR": "CIR", "CLIFF": "CLF", "CLUB": "CLB", "COMMON": "CMN",
    "CORNER": "COR", "COURSE": "CRSE", "COURT": "CT", "CT": "CT", "COVE": "CV",
    "CREEK": "CRK", "CRESCENT": "CRES", "CREST": "CRST", "CROSSING": "XING",
    "CROSSROAD": "XRD", "CURVE": "CURV", "DALE": "DL", "DAM": "DM", "DIVIDE": "DV",
    "DRIVE": "DR", "DR": "DR", "ESTATE": "EST", "ESTATES": "ESTS", "EXPRESSWAY": "EXPY",
    "EXTENSION": "EXT", "FALLS": "FLS", "FERRY": "FRY", "FIELD": "FLD", "FIELDS": "FLDS",
    "FLAT": "FLT", "FORD": "FRD", "FOREST": "FRST", "FORGE": "FRG", "FORK": "FRK",
    "FREEWAY": "FWY", "GARDEN": "GDN", "GARDENS": "GDNS", "GATEWAY": "GTWY", "GLEN": "GLN",
    "GREEN": "GRN", "GROVE": "GRV", "HARBOR": "HBR", "HAVEN": "HVN", "HEIGHTS": "HTS",
    "HIGHWAY": "HWY", "HWY": "HWY", "HILL": "HL", "HILLS": "HLS", "HOLLOW": "HOLW",
    "INLET": "INLT", "ISLAND": "IS", "JUNCTION": "JCT", "KEY": "KY", "KNOLL": "KNL",
    "LAKE": "LK", "LAKES": "LKS", "LANDING": "LNDG", "LANE": "LN", "LN": "LN",
    "LIGHT": "LGT", "LOOP": "LOOP", "MALL": "MALL", "MANOR": "MNR", "MEADOW": "MDW",
    "MEADOWS": "MDWS", "MILL": "ML", "MISSION": "MSN", "MOUNT": "MT", "MOUNTAIN": "MTN",
    "ORCHARD": "ORCH", "OVAL": "OVAL", "PARK": "PARK", "PARKWAY": "PKWY", "PKWY": "PKWY",
    "PASS": "PASS", "PATH": "PATH", "PIKE": "PIKE", "PINE": "PNE", "PINES": "PNES",
    "PLACE": "PL", "PL": "PL", "PLAIN": "PLN", "PLAZA": "PLZ", "POINT": "PT", "PORT": "PRT",
    "PRAIRIE": "PR", "RANCH": "RNCH", "RIDGE": "RDG", "RIVER": "RIV", "ROAD": "RD",
    "RD": "RD", "ROUTE": "RTE", "RTE": "RTE", "ROW": "ROW", "RUN": "RUN", "SHORE": "SHR",
    "SKYWAY": "SKWY", "SPRING": "SPG", "SPRINGS": "SPGS", "SQUARE": "SQ", "SQ": "SQ",
    "STATION": "STA", "STREET": "ST", "STR": "ST", "ST": "ST", "SUMMIT": "SMT",
    "TERRACE": "TER", "TER": "TER", "TRACE": "TRCE", "TRAIL": "TRL", "TRL": "TRL",
    "TUNNEL": "TUNL", "TURNPIKE": "TPKE", "UNION": "UN", "VALLEY": "VLY", "VIEW": "VW",
    "VILLAGE": "VLG", "VILLE": "VL", "VISTA": "VIS", "WALK": "WALK", "WAY": "WAY",
    "WELLS": "WLS", "CARRETERA": "CARR", "CARR": "CARR", "CAMINO": "CAM", "PASEO": "PSO",
}

DIRECTIONALS: dict[str, str] = {
    "NORTH": "N", "SOUTH": "S", "EAST": "E", "WEST": "W", "NORTHEAST": "NE",
    "NORTHWEST": "NW", "SOUTHEAST": "SE", "SOUTHWEST": "SW", "N": "N", "S": "S", "E": "E",
    "W": "W", "NE": "NE", "NW": "NW", "SE": "SE", "SW": "SW", "NORTE": "N", "SUR": "S",
    "ESTE": "E", "OESTE": "W",
}

# Secondary unit designators. For comparison the apartment-like ones all become "#".
UNIT_WORDS: dict[str, str] = {
    "APT": "#", "APARTMENT": "#", "APTO": "#", "UNIT": "#", "STE": "#", "SUITE": "#",
    "#": "#", "NO": "#", "NUM": "#", "NBR": "#", "FL": "FL", "FLOOR": "FL", "FLR": "FL",
    "RM": "RM", "ROOM": "RM", "BLDG": "BLDG", "BUILDING": "BLDG", "LOT": "LOT",
    "TRLR": "TRLR", "TRAILER": "TRLR", "SPC": "SPC", "SPACE": "SPC", "DEPT": "DEPT",
    "OFC": "OFC", "OFFICE": "OFC", "HNGR": "HNGR", "PIER": "PIER", "SLIP": "SLIP",
    "REAR": "REAR", "FRNT": "FRNT", "FRONT": "FRNT", "PH": "PH", "BSMT": "BSMT",
    "BASEMENT": "BSMT", "LOWR": "LOWR", "UPPR": "UPPR", "MS": "MS", "PMB": "PMB",
    "CASA": "CASA", "BLQ": "BLQ", "BLOQUE": "BLQ", "EDIF": "BLDG", "EDIFICIO": "BLDG",
}

# Tokens after which a number is an identifier, not a house number.
NUMBER_TAKERS: frozenset[str] = frozenset(UNIT_WORDS) | frozenset({
    "BOX", "BX", "PO", "POB", "DRAWER", "CALLER", "RR", "HC", "HCR", "PSC", "CMR", "ROUTE",
    "RTE", "RT", "HWY", "HIGHWAY", "CARR", "CARRETERA", "KM", "SR", "CR", "FM", "US", "I",
    "INTERSTATE", "COUNTY", "ROAD", "STATE", "CALLE", "VIA", "AVE", "AVENUE", "AVENIDA",
    "ZIP", "LOCKBOX", "OMC",
})

ORDINAL_WORDS: dict[str, str] = {
    "FIRST": "1ST", "SECOND": "2ND", "THIRD": "3RD", "FOURTH": "4TH", "FIFTH": "5TH",
    "SIXTH": "6TH", "SEVENTH": "7TH", "EIGHTH": "8TH", "NINTH": "9TH", "TENTH": "10TH",
    "ELEVENTH": "11TH", "TWELFTH": "12TH",
}
NUMBER_WORDS: dict[str, str] = {
    "ONE": "1", "TWO": "2", "THREE": "3", "FOUR": "4", "FIVE": "5", "SIX": "6",
    "SEVEN": "7", "EIGHT": "8", "NINE": "9", "TEN": "10", "ELEVEN": "11", "TWELVE": "12",
}

# City-name words normalised like USPS does (Saint Louis -> ST LOUIS).
CITY_WORDS: dict[str, str] = {"SAINT": "ST", "SAINTE": "STE", "FORT": "FT", "MOUNT": "MT"}

# Facility words. STRONG ones mark a facility anywhere outside the city; WEAK ones
# only outside a recognised city (College Station TX, University Park MD).
FACILITY_STRONG: frozenset[str] = frozenset({
    "DETENTION", "PROCESSING", "CORRECTIONAL", "CORRECTIONS", "JAIL", "PRISON",
    "PENITENTIARY", "HOSPITAL", "SHELTER", "MOTEL", "HOTEL", "INN", "FCI", "USP", "FDC",
    "MDC", "AFB", "BARRACKS", "DORMITORY", "DORM", "CLINIC", "ICE", "SPC", "CDF", "IPC",
    "HOSTEL", "NURSING", "ASYLUM", "ARMY", "CUSTODY",
})
FACILITY_WEAK: frozenset[str] = frozenset({
    "CENTER", "CENTRE", "CTR", "UNIVERSITY", "COLLEGE", "SCHOOL", "CHURCH", "MOSQUE",
    "TEMPLE", "MALL", "AIRPORT", "BASE", "CAMP", "ACADEMY", "TERMINAL", "FACILITY",
    "COMPLEX", "APARTMENTS", "RESIDENCE", "PLANT", "FARM", "RANCH",
    "MARINA", "STADIUM", "STATION", "OFFICE", "BUILDING", "TOWER",
})

KEYBOARD_RUNS: tuple[str, ...] = (
    "QWER", "ASDF", "SDFG", "DFGH", "FGHJ", "GHJK", "HJKL", "ZXCV", "XCVB", "CVBN", "VBNM",
    "YUIO", "UIOP", "TYUI", "POIU", "LKJH", "MNBV", "REWQ", "FDSA", "VCXZ", "JKLJ",
)

# Tokens without a vowel that are normal in addresses (so not gibberish).
VOWELLESS_OK: frozenset[str] = frozenset(
    {v for v in STREET_SUFFIXES.values() if not set(v) & set("AEIOUY")}
    | {"BLVD", "PKWY", "XING", "FRWY", "CSWY", "HWY", "PSC", "CMR", "FPO", "DPO", "BX",
       "HCR", "BLDG", "TRLR", "HNGR", "BSMT", "LOWR", "UPPR", "FRNT", "BLQ", "PMB", "RR",
       "HC", "STRT", "CRT", "CTRL"}
)
