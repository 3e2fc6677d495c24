"""Travel-document normalizers: ICAO 9303 MRZ, IATA BCBP, ICAO VDS and VDS-NC. Pure, sans-I/O."""
