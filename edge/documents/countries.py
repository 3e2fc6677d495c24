"""Country codes valid in an ICAO 9303 MRZ: ISO 3166-1 alpha-3 plus the 9303 special codes.

Codes are stored without trailing fillers: Germany is written ``D<<`` in an MRZ and is ``D`` here.
"""

from __future__ import annotations

__all__ = ["ISO_3166_ALPHA3", "KNOWN_CODES", "SPECIAL_CODES"]

# ISO 3166-1 alpha-3, current officially assigned codes (249).
_ISO_TEXT = (
    "ABW AFG AGO AIA ALA ALB AND ARE ARG ARM ASM ATA ATF ATG AUS AUT AZE BDI BEL BEN BES BFA "
    "BGD BGR BHR BHS BIH BLM BLR BLZ BMU BOL BRA BRB BRN BTN BVT BWA CAF CAN CCK CHE CHL CHN "
    "CIV CMR COD COG COK COL COM CPV CRI CUB CUW CXR CYM CYP CZE DEU DJI DMA DNK DOM DZA ECU "
    "EGY ERI ESH ESP EST ETH FIN FJI FLK FRA FRO FSM GAB GBR GEO GGY GHA GIB GIN GLP GMB GNB "
    "GNQ GRC GRD GRL GTM GUF GUM GUY HKG HMD HND HRV HTI HUN IDN IMN IND IOT IRL IRN IRQ ISL "
    "ISR ITA JAM JEY JOR JPN KAZ KEN KGZ KHM KIR KNA KOR KWT LAO LBN LBR LBY LCA LIE LKA LSO "
    "LTU LUX LVA MAC MAF MAR MCO MDA MDG MDV MEX MHL MKD MLI MLT MMR MNE MNG MNP MOZ MRT MSR "
    "MTQ MUS MWI MYS MYT NAM NCL NER NFK NGA NIC NIU NLD NOR NPL NRU NZL OMN PAK PAN PCN PER "
    "PHL PLW PNG POL PRI PRK PRT PRY PSE PYF QAT REU ROU RUS RWA SAU SDN SEN SGP SGS SHN SJM "
    "SLB SLE SLV SMR SOM SPM SRB SSD STP SUR SVK SVN SWE SWZ SXM SYC SYR TCA TCD TGO THA TJK "
    "TKL TKM TLS TON TTO TUN TUR TUV TWN TZA UGA UKR UMI URY USA UZB VAT VCT VEN VGB VIR VNM "
    "VUT WLF WSM YEM ZAF ZMB ZWE "
)
ISO_3166_ALPHA3: frozenset[str] = frozenset(_ISO_TEXT.split())

# ICAO 9303 Part 3 section 5: codes that are not ISO 3166-1 alpha-3.
SPECIAL_CODES: frozenset[str] = frozenset(
    (
        "D",  # Germany, written D<< in the MRZ
        "GBD", "GBN", "GBO", "GBP", "GBS",  # British nationality classes
        "RKS",  # Kosovo
        "EUE",  # European Union
        "UNO", "UNA", "UNK",  # United Nations, its specialized agencies, UNMIK
        "XBA", "XIM", "XCC", "XCE", "XCO", "XEC", "XPO", "XES", "XMP", "XOM", "XDC",
        "XXA", "XXB", "XXC", "XXX",  # stateless, refugees, unspecified nationality
        "UTO",  # Utopia, the fictional state of the ICAO specimens
    )
)  # fmt: skip

KNOWN_CODES: frozenset[str] = ISO_3166_ALPHA3 | SPECIAL_CODES
