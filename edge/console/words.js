// Plain words for the stable codes the daemon sends: verdicts, checks, warnings, states.
// A code missing here falls back to the daemon's own message, which never quotes personal data.

export const CHECK_RESULTS = {
  passed: { word: "passed", mark: "\u2713" },
  failed: { word: "FAILED", mark: "\u2717" },
  undetermined: { word: "undetermined", mark: "?" },
  not_applicable: { word: "not applicable", mark: "\u2013" },
  not_supported: { word: "not supported", mark: "\u2013" },
};

export const CHECK_NAMES = {
  document_number: "Document number check digit",
  birth_date: "Date of birth check digit",
  expiry_date: "Expiry date check digit",
  personal_number: "Personal number check digit",
  optional_data: "Optional data check digit",
  composite: "Overall (composite) check digit",
  not_expired: "Document not expired",
  alert_list: "Alert list",
  structure: "Layout of the code",
  dates: "Flight dates",
  security_signature: "Airline security signature",
  signature: "Seal signature",
  certificate_chain: "Signer certificate chain",
  certificate_revocation: "Certificate revocation",
  faces: "Exactly one face",
  face_ratio: "Face size in the picture",
  face_px: "Face resolution",
  inter_eye: "Distance between the eyes",
  offset_x: "Face centred left to right",
  offset_y: "Face centred top to bottom",
  brightness: "Brightness",
  contrast: "Contrast",
  underexposed: "Dark areas",
  overexposed: "Burnt-out areas",
  roll: "Head held straight",
  sharpness: "Sharpness",
};

// Warnings and errors, as an officer at the counter would say them.
export const ISSUES = {
  birth_date_partial: "The date of birth is only partly known (allowed for some issuers).",
  sex_x: "Sex is written as X in the machine zone, which is meant for the printed page only.",
  sex_invalid: "The sex field holds a character that is not allowed.",
  country_unknown:
    "The issuing state or nationality code is not a known one: check the document in the reference guide.",
  country_invalid: "The issuing state or nationality is not a country code.",
  name_charset: "The name holds characters that are not allowed in the machine zone.",
  name_truncated: "The name fills its whole field and may be cut short: compare with the printed page.",
  document_code: "The document type letter is not allowed for this kind of document.",
  document_number_format: "The long document number is written wrongly.",
  long_number_filler_variant:
    "The long document number uses the issuer's own variant; it was still checked.",
  ocr_suspect: "The reader may have misread a character: compare with the printed page.",
  ocr_ambiguous:
    "The reader misread characters that could not be repaired: read the document again.",
  line_count: "The reader did not send a complete machine zone: read the document again.",
  line_length: "A line of the machine zone has the wrong length: read the document again.",
  charset: "The machine zone holds characters that are not allowed: read the document again.",
  normalizer_failed: "The read could not be checked. It was kept; read the document again.",
  alert_list_stale: "Checked against an out-of-date alert list.",
  alert_list_missing: "No alert list on this workstation: not checked against one.",
  unknown_version: "Boarding pass from a newer standard: the known fields are shown.",
  unknown_conditional_data: "The boarding pass holds extra airline data that was not read.",
  bad_date: "A date on the boarding pass is not a valid day.",
  "vds.signer.no_store":
    "No signer certificates on this workstation: the seal's signature could not be verified.",
  "vds.certificate.chain": "The seal's signer certificate could not be traced to a trusted authority.",
  "vds.signature.unsupported": "The seal is signed in a way this workstation cannot verify.",
  "vds.feature.missing": "A field the seal should hold is missing.",
  "vds.feature.duplicate": "A field appears twice in the seal.",
  "vds.feature.length": "A field of the seal has the wrong length.",
  "vdsnc.header.type": "Seal of a type this workstation does not know: its content is shown as it is.",
  "vdsnc.signature.algorithm": "The seal names a signature method this workstation does not use.",
  "vdsnc.signature.unsupported": "The seal is signed in a way this workstation cannot verify.",
  "vdsnc.signature.invalid": "The seal's signature does not match its content: it may be altered.",
  "vdsnc.structure.extra": "The seal holds extra data that was not read.",
  padded: "The face was near the edge of the picture.",
  no_analysis: "The portrait came without its quality check.",
  bad_analysis: "The portrait's quality check could not be read.",
};

export function issueWords(issue) {
  return ISSUES[issue.code] || sentence(issue.message || issue.code);
}

function sentence(text) {
  const t = String(text);
  return t.charAt(0).toUpperCase() + t.slice(1) + (/[.!?]$/.test(t) ? "" : ".");
}

export const DOCUMENT_TYPES = {
  P: "Passport",
  I: "Identity card",
  A: "Identity card",
  C: "Identity card",
  V: "Visa",
};

export function documentType(record) {
  const code = String((record.payload.fields || {}).document_code || "");
  if (record.format === "mrva" || record.format === "mrvb") return "Visa";
  return DOCUMENT_TYPES[code.charAt(0)] || "Travel document";
}

export const SEAL_VERDICTS = {
  valid: { word: "Signature valid", tone: "good", mark: "\u2713" },
  invalid: { word: "Signature INVALID: the seal may be altered", tone: "bad", mark: "\u2717" },
  signer_unknown: { word: "Signer not known on this workstation", tone: "warn", mark: "?" },
  unsupported_curve: { word: "Signature cannot be verified here", tone: "warn", mark: "?" },
  no_signature: { word: "The seal carries no signature", tone: "bad", mark: "\u2717" },
};

export const DEVICE_STATES = {
  ready: { word: "Ready", tone: "good", mark: "\u25CF" },
  opening: { word: "Connecting\u2026", tone: "warn", mark: "\u25CB" },
  degraded: { word: "Having problems", tone: "warn", mark: "!" },
  absent: { word: "NOT CONNECTED", tone: "bad", mark: "\u2717" },
  failed: { word: "FAILED: call the technician", tone: "bad", mark: "\u2717" },
};

export const DEVICE_ERRORS = {
  noise: "line noise",
  bad_bcc: "damaged message",
  truncated: "cut-off message",
  overflow: "over-long message",
  unmapped_key: "unknown key",
};

export const ALERT_CATEGORIES = {
  lost_stolen: "Document reported LOST or STOLEN",
  person_of_interest: "PERSON OF INTEREST",
};

// Why nothing was checked (verdict not_checked): the daemon's `reason`.
export const ALERT_NOT_CHECKED = {
  no_list: "Not checked: no alert list on this workstation.",
  no_identifiers: "Not checked: the read holds nothing to check.",
  no_birth_date: "Not checked: no document number and no full date of birth to check.",
  check_failed: "Not checked: the alert check failed on this read. Read the document again.",
};

// A no-hit that checked one key of two: what was checked, and why not the other.
export const ALERT_ONLY = {
  document: "only the document number was checked",
  person: "only the name and date of birth were checked",
};

export const ALERT_MISSING = {
  no_birth_date: "no full date of birth",
  no_name: "no name",
  no_document_number: "no document number",
};

export const PORTRAIT_ENDINGS = {
  capturing: "Taking the portrait\u2026",
  stored: "Portrait stored.",
  no_usable_frame: "No usable portrait. Press P to take it again.",
  superseded: "Ended: a new capture began.",
  camera_unavailable: "The camera is not available.",
  failed: "The portrait could not be taken.",
};

export const SINK_STATES = {
  starting: "starting",
  ok: "connected",
  degraded: "link trouble, retrying",
  unavailable: "not reachable",
  failed: "not working: call the technician",
};
