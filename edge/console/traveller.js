// The traveller at the counter: one <article> built from records, replaced whole for the next.

import { ageOn, clock, daysBetween, fullDate, h, plural, showDate } from "./dom.js";
import {
  ALERT_CATEGORIES,
  ALERT_MISSING,
  ALERT_NOT_CHECKED,
  ALERT_ONLY,
  CHECK_NAMES,
  CHECK_RESULTS,
  PORTRAIT_ENDINGS,
  SEAL_VERDICTS,
  documentType,
  issueWords,
} from "./words.js";

const VERDICTS = {
  valid: { word: "VALID", mark: "\u2713", tone: "valid" },
  expired: { word: "EXPIRED", mark: "!", tone: "expired" },
  check_digits: { word: "CHECK DIGITS FAILED", mark: "\u2717", tone: "invalid" },
  invalid: { word: "INVALID", mark: "\u2717", tone: "invalid" },
  unchecked: { word: "NOT CHECKED", mark: "?", tone: "unchecked" },
};

function verdictOf(record) {
  if (record.verdict === "invalid" && record.errors.some((e) => e.code === "check_digit")) {
    return VERDICTS.check_digits;
  }
  return VERDICTS[record.verdict] || VERDICTS.unchecked;
}

function captureDay(record) {
  return String(record.captured_at).slice(0, 10);
}

function field(label, value, extra, id) {
  return [
    h("dt", {}, label),
    h("dd", { id }, h("span", { class: "value" }, value || "\u2013"), extra ? h("span", { class: "extra" }, extra) : null),
  ];
}

function expiryWords(days) {
  if (days === null) return null;
  if (days < 0) return `expired ${plural(-days, "day", "days")} ago`;
  if (days === 0) return "expires today";
  return `${plural(days, "day", "days")} to expiry`;
}

function checkList(checks) {
  const items = Object.entries(checks || {}).map(([name, result]) => {
    const shown = CHECK_RESULTS[result] || { word: result, mark: "?" };
    return h(
      "li",
      { class: `check check-${result}` },
      h("span", { class: "mark", "aria-hidden": "true" }, shown.mark),
      h("span", { class: "check-name" }, CHECK_NAMES[name] || name.replaceAll("_", " ")),
      h("span", { class: "check-result" }, shown.word),
    );
  });
  return items.length ? h("ul", { class: "checks" }, items) : null;
}

function issueList(issues, tone, title) {
  if (!issues || !issues.length) return null;
  const seen = new Set();
  const items = [];
  for (const issue of issues) {
    const words = issueWords(issue);
    if (seen.has(words)) continue;
    seen.add(words);
    items.push(h("li", { class: tone }, h("span", { class: "mark", "aria-hidden": "true" }, tone === "error" ? "\u2717" : "!"), words));
  }
  return h("section", { class: `issues ${tone}s` }, h("h3", {}, title), h("ul", {}, items));
}

function correctionList(corrections) {
  if (!corrections || !corrections.length) return null;
  const items = corrections.map((c) =>
    h(
      "li",
      {},
      `${c.field.replaceAll("_", " ")}: read `,
      h("code", {}, c.original),
      ", corrected to ",
      h("code", {}, c.replacement),
      ` (line ${c.line}, position ${c.column}), proven by its check digit.`,
    ),
  );
  return h(
    "section",
    { class: "corrections" },
    h("h3", {}, "OCR corrections: compare with the printed page"),
    h("ul", {}, items),
  );
}

function alertLine(record) {
  const alert = record.payload.alert;
  if (!alert || alert.verdict === "hit") return null; // the banner says it
  const stale = alert.stale ? " \u2014 checked against a STALE list (past its expiry)" : "";
  const version = alert.list_version ? ` (list version ${alert.list_version})` : "";
  const line = (tone, mark, words) => h("p", { class: `alert-line ${tone}`, id: "alert-line" }, h("span", { class: "mark", "aria-hidden": "true" }, mark), words);
  if (alert.verdict === "no_hit" && alert.unverified) {
    // Identifiers read with failed check digits: "no hit" would be false reassurance.
    return line("unchecked", "?", `Alert list: no hit on data read with FAILED check digits${version}: it may be misread, so this proves nothing. Read the document again.${stale}`);
  }
  if (alert.verdict === "no_hit") {
    const checked = alert.checked || [];
    const only = checked.length === 1 ? ALERT_ONLY[checked[0]] : null;
    const missing = ALERT_MISSING[alert.reason] || (alert.reason ? alert.reason.replaceAll("_", " ") : "");
    const partial = only ? ` \u2014 ${only}${missing ? ` (${missing})` : ""}` : "";
    const tone = alert.stale ? "stale" : partial ? "partial" : "clear";
    return line(tone, alert.stale || partial ? "!" : "\u2713", `Alert list: no hit${version}${partial}${stale}`);
  }
  const why = ALERT_NOT_CHECKED[alert.reason] || "Not checked against the alert list.";
  return line("unchecked", "?", `${why}${stale}`);
}

export function alertBanner(hit) {
  const categories = (hit.categories || []).map((c) => ALERT_CATEGORIES[c] || c.replaceAll("_", " "));
  const refs = (hit.references || []).map((r) => r.ref).filter(Boolean);
  const facts = [];
  if (refs.length) facts.push(`Reference ${refs.join(", ")}`);
  if (hit.list_version) facts.push(`alert list version ${hit.list_version}`);
  if (hit.stale) facts.push("checked against a STALE list");
  if (hit.unverified) facts.push("read with FAILED check digits: compare with the printed page");
  return h(
    "div",
    { class: "alert-hit", role: "alert", id: "alert-banner" },
    h("div", { class: "alert-title" }, h("span", { class: "mark", "aria-hidden": "true" }, "\u26A0"), "ALERT HIT"),
    h("div", { class: "alert-what" }, categories.join(" \u2022 ") || "On the alert list"),
    h("div", { class: "alert-do" }, "Keep the document. Follow the alert procedure and call headquarters."),
    h("div", { class: "alert-facts" }, facts.join(" \u00B7 ")),
  );
}

function personFields(record) {
  const f = record.payload.fields || {};
  const day = captureDay(record);
  const age = ageOn(f.birth_date, day);
  const days = daysBetween(day, f.expiry_date);
  const sex = { M: "male", F: "female", X: "unspecified (X)", "<": "unspecified" }[f.sex] || null;
  return h(
    "dl",
    { class: "fields" },
    field("Nationality", f.nationality, null, "f-nationality"),
    field("Document number", f.document_number, null, "f-document-number"),
    field("Date of birth", showDate(f.birth_date), age === null ? (fullDate(f.birth_date) ? null : "partly known") : `age ${age}`, "f-birth"),
    field("Expiry", showDate(f.expiry_date), expiryWords(days), "f-expiry"),
    field("Issued by", f.issuing_country, null, "f-issuer"),
    field("Sex", sex || f.sex, null, "f-sex"),
  );
}

function portraitFigure() {
  return h(
    "figure",
    { class: "portrait", id: "portrait" },
    h("div", { class: "photo", id: "portrait-photo" }, h("span", { class: "placeholder" }, "No portrait yet")),
    h(
      "figcaption",
      {},
      h("p", { class: "portrait-state", id: "portrait-state" }, "Waiting for the camera"),
      h("ul", { class: "hints", id: "portrait-hints" }),
      h("p", { class: "quality", id: "portrait-quality" }),
    ),
  );
}

// On an alert hit the verdict area must not reassure: it turns to the alert's colours and
// says ALERT HIT, the document's own verdict demoted beside it.
export function verdictOnHit(card) {
  const box = card.querySelector("#verdict");
  if (!box || box.classList.contains("verdict-alert")) return;
  const word = box.querySelector("#verdict-word");
  const documentWord = card.dataset.record ? `Document: ${word.textContent}` : "No document read yet";
  box.className = "verdict verdict-alert";
  box.querySelector(".mark").textContent = "\u26A0";
  word.textContent = "ALERT HIT";
  word.after(h("span", { class: "document-verdict", id: "document-verdict" }, documentWord));
}

export function documentCard(record, withCamera) {
  const f = record.payload.fields || {};
  const verdict = verdictOf(record);
  const name = [f.given_names, f.surname].filter(Boolean).join(" ") || "Name not read";
  const days = daysBetween(captureDay(record), f.expiry_date);
  const since = record.verdict === "expired" && days !== null ? `${expiryWords(days)} \u00B7 ` : "";
  const detail = `${since}${documentType(record)} \u00B7 read ${clock(record.captured_at)} on ${record.device.name}`;
  const card = h(
    "article",
    { class: "traveller", id: "traveller-card", "data-record": record.id },
    h("div", { class: "alert-slot", id: "alert-slot" }, record.payload.alert?.verdict === "hit" ? alertBanner(record.payload.alert) : null),
    h(
      "div",
      { class: `verdict verdict-${verdict.tone}`, id: "verdict", role: "status" },
      h("span", { class: "mark", "aria-hidden": "true" }, verdict.mark),
      h("span", { class: "word", id: "verdict-word" }, verdict.word),
      h("span", { class: "detail" }, detail),
    ),
    h(
      "div",
      { class: `body ${withCamera ? "with-camera" : ""}` },
      withCamera ? portraitFigure() : null,
      h(
        "div",
        { class: "identity" },
        h("h2", { class: "name", id: "traveller-name" }, name),
        personFields(record),
        alertLine(record),
        issueList(record.errors, "error", "Problems"),
        issueList(record.warnings, "warning", "Warnings"),
        correctionList(record.payload.corrections),
      ),
      h("section", { class: "checks-box" }, h("h3", {}, "Checks"), checkList(record.checks)),
    ),
    h("div", { class: "extras", id: "extras" }),
  );
  if (record.payload.alert?.verdict === "hit") verdictOnHit(card);
  return card;
}

export function emptyCard(why, withCamera) {
  return h(
    "article",
    { class: "traveller", id: "traveller-card" },
    h("div", { class: "alert-slot", id: "alert-slot" }),
    h("div", { class: "verdict verdict-unchecked", id: "verdict", role: "status" }, h("span", { class: "mark", "aria-hidden": "true" }, "\u2013"), h("span", { class: "word", id: "verdict-word" }, why)),
    h("div", { class: `body ${withCamera ? "with-camera" : ""}` }, withCamera ? portraitFigure() : null),
    h("div", { class: "extras", id: "extras" }),
  );
}

export function boardingPass(record) {
  const f = record.payload.fields || {};
  const rows = (f.legs || []).map((leg) =>
    h(
      "tr",
      {},
      h("td", {}, leg.from_airport),
      h("td", {}, leg.to_airport),
      h("td", {}, leg.operating_carrier_designator),
      h("td", {}, leg.flight_number),
      h("td", {}, showDate(leg.date_of_flight)),
      h("td", {}, leg.seat_number || "\u2013"),
    ),
  );
  const ok = record.verdict === "valid";
  return h(
    "section",
    { class: "boarding", "data-record": record.id },
    h("h3", {}, `Boarding pass \u00B7 ${plural(rows.length, "flight", "flights")}`),
    h("p", { class: "pass-name" }, "Name on the pass: ", h("span", { class: "value" }, f.passenger_name || "\u2013")),
    ok ? null : h("p", { class: "tag bad" }, h("span", { class: "mark", "aria-hidden": "true" }, "\u2717"), "Not readable as a boarding pass"),
    rows.length
      ? h("table", { class: "legs" }, h("thead", {}, h("tr", {}, ["From", "To", "Carrier", "Flight", "Date", "Seat"].map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, rows))
      : null,
  );
}

function sealValue(value) {
  if (value === null || value === undefined) return "\u2013";
  if (typeof value === "object") return Object.entries(value).map(([k, v]) => `${k} ${v}`).join(", ");
  return fullDate(value) ? showDate(value) : String(value);
}

const SEAL_LABELS = {
  vn: "Visa number",
  nen: "Number of entries",
  dov: "Date of the visa",
  passport_number: "Passport number",
  number_of_entries: "Number of entries",
  duration_of_stay: "Duration of stay",
  visa_type: "Visa type",
};

export function seal(record) {
  const f = record.payload.fields || {};
  const verdict = SEAL_VERDICTS[f.signature_verdict] || { word: "Signature not checked", tone: "warn", mark: "?" };
  const content = f.message || f.features || {};
  const items = Object.entries(content).map(([k, v]) => [h("dt", {}, SEAL_LABELS[k] || k.replaceAll("_", " ")), h("dd", {}, sealValue(v))]);
  return h(
    "section",
    { class: "seal", "data-record": record.id },
    h("h3", {}, `Visa seal \u00B7 issued by ${f.issuing_country || "unknown state"}`),
    h("p", { class: `seal-verdict ${verdict.tone}`, id: "seal-verdict" }, h("span", { class: "mark", "aria-hidden": "true" }, verdict.mark), verdict.word),
    items.length ? h("dl", { class: "fields small" }, items) : null,
    issueList(record.errors, "error", "Problems"),
  );
}

export function otherCode(record) {
  return h(
    "section",
    { class: "other-code", "data-record": record.id },
    h("h3", {}, `Code read on ${record.device.name} at ${clock(record.captured_at)}: not a travel document`),
  );
}

// Live portrait feedback and its end, in the portrait figure.
export function portraitProgress(card, state, hints, detail) {
  const stateEl = card.querySelector("#portrait-state");
  const hintList = card.querySelector("#portrait-hints");
  if (!stateEl || !hintList) return;
  stateEl.textContent = [PORTRAIT_ENDINGS[state] || state, detail].filter(Boolean).join(" ");
  stateEl.className = `portrait-state state-${state}`;
  hintList.replaceChildren(...hints.map((text) => h("li", {}, h("span", { class: "mark", "aria-hidden": "true" }, "\u2192"), text)));
}

export function portraitQuality(card, record) {
  const f = record.payload.fields || {};
  const quality = card.querySelector("#portrait-quality");
  if (!quality) return;
  const good = record.verdict === "valid";
  const score = typeof f.score === "number" ? ` (score ${f.score.toFixed(2)})` : "";
  quality.className = `quality ${good ? "good" : "bad"}`;
  quality.replaceChildren(
    h("span", { class: "mark", "aria-hidden": "true" }, good ? "\u2713" : "\u2717"),
    good ? `Portrait quality: GOOD${score}` : `Portrait quality: NOT ACCEPTABLE${score}`,
  );
  const hints = card.querySelector("#portrait-hints");
  if (hints) hints.replaceChildren(...record.warnings.map((w) => h("li", {}, h("span", { class: "mark", "aria-hidden": "true" }, "\u2192"), issueWords(w))));
}
