// The officer console: follows the daemon's event stream and shows the traveller at the counter.
// Nothing is stored in the browser: no web storage, no cache (the daemon says no-store), the
// traveller's DOM is replaced whole for the next one and portrait object URLs are revoked.

import { byId, h } from "./dom.js";
import { LATE_ALARM, acknowledgeLate, fillLate, lateOf } from "./late.js";
import { Status } from "./status.js";
import {
  alertBanner,
  boardingPass,
  documentCard,
  emptyCard,
  otherCode,
  portraitProgress,
  portraitQuality,
  seal,
  verdictOnHit,
} from "./traveller.js";

// The first S (or click) arms sign-out, a second one within this time signs out.
const SIGNOUT_CONFIRM_MS = 5000;

const status = new Status();
let stream = null;
let signoutArmed = null;
// The traveller on screen: the document record's id, the card, live object URLs.
let current = null;
let session = { portrait: false, alerts: false };

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", cache: "no-store", ...options });
  if (response.status === 401) {
    signedOut();
    throw new Error("signed out");
  }
  return response;
}

function signedOut(title = "Not signed in") {
  if (stream) stream.close();
  stream = null;
  clearTraveller();
  status.forgetLateAlerts();
  byId("signin-title").textContent = title;
  byId("signin").hidden = false;
  byId("app").hidden = true;
  for (const id of ["retake", "clear", "ack", "signout"]) byId(id).disabled = true;
  status.link("down", title);
}

function say(text, tone = "info") {
  const el = byId("notice");
  el.className = `notice tone-${tone}`;
  el.textContent = text;
}

// -- the traveller ------------------------------------------------------------------------

function clearTraveller() {
  if (current) for (const url of current.urls) URL.revokeObjectURL(url);
  current = null;
  byId("traveller").replaceChildren(
    h("p", { class: "idle", id: "idle" }, "Waiting for the next traveller"),
  );
}

function showCard(card, docId) {
  clearTraveller();
  status.clearRefusals();
  current = { docId, card, urls: new Set(), portraitRecord: null };
  byId("traveller").replaceChildren(card);
}

function ensureTraveller() {
  if (!current) showCard(emptyCard("NO DOCUMENT READ YET", session.portrait), null);
  return current;
}

function onRecord(record) {
  switch (record.kind) {
    case "document":
    case "chip":
      showCard(documentCard(record, session.portrait), record.id);
      if (session.portrait) portraitProgress(current.card, "capturing", [], "");
      break;
    case "barcode": {
      const here = ensureTraveller();
      const extras = here.card.querySelector("#extras");
      if (record.format === "bcbp") extras.append(boardingPass(record));
      else if (record.format && record.format.startsWith("vds")) extras.append(seal(record));
      else extras.append(otherCode(record));
      if (record.payload.alert?.verdict === "hit") showHit(record.payload.alert);
      break;
    }
    case "portrait":
      onPortraitRecord(record);
      break;
    case "amendment":
      // Live, its alert_hit event and alarm follow; replayed after a reconnect, it is all
      // there is: either way the late hit goes on top until acknowledged.
      if (record.payload.alert?.verdict === "hit") status.lateAlert(lateOf(record));
      break;
    default:
      break;
  }
}

function belongsHere(documentRecord) {
  return current && (documentRecord === current.docId || (documentRecord === null && !current.portraitRecord));
}

async function onPortraitRecord(record) {
  const fields = record.payload.fields || {};
  if (!belongsHere(fields.document_record ?? null)) return;
  const here = current;
  here.portraitRecord = record.id;
  portraitQuality(here.card, record);
  const blob = (record.blobs || []).find((b) => b.media_type === "image/jpeg") || record.blobs?.[0];
  if (!blob) return;
  let response;
  try {
    response = await api(`/v1/records/${encodeURIComponent(record.id)}/blobs/${blob.sha256}`);
  } catch {
    return;
  }
  if (!response.ok) {
    portraitProgress(here.card, "failed", [], "The stored picture cannot be shown.");
    return;
  }
  const data = await response.blob();
  if (current !== here) return; // the next traveller arrived meanwhile
  const url = URL.createObjectURL(data);
  here.urls.add(url);
  const img = h("img", { alt: "Portrait taken at the counter", id: "portrait-img" });
  img.addEventListener("load", () => {
    URL.revokeObjectURL(url);
    here.urls.delete(url);
  });
  img.src = url;
  here.card.querySelector("#portrait-photo").replaceChildren(img);
}

function onPortraitFeedback(data) {
  if (!belongsHere(data.document_record ?? null)) return;
  const hints = (data.advice || []).map((a) => a.text);
  portraitProgress(current.card, "capturing", hints, data.detail || "");
}

function onPortraitEnd(data) {
  if (!belongsHere(data.document_record ?? null)) return;
  if (data.state === "stored") {
    portraitProgress(current.card, "stored", [], "");
    return;
  }
  portraitProgress(current.card, data.state, [], data.detail || "");
}

function showHit(hit) {
  const here = ensureTraveller();
  const slot = here.card.querySelector("#alert-slot");
  slot.replaceChildren(alertBanner(hit));
  verdictOnHit(here.card);
}

function onAlertHit(hit) {
  if (hit.late) {
    status.lateAlert(hit);
    return;
  }
  if (current && current.card.dataset.record === hit.record_id) showHit(hit);
}

function onAlarm(alarm) {
  if (alarm.code.startsWith(LATE_ALARM)) {
    const id = alarm.code.slice(LATE_ALARM.length);
    if (!alarm.active) {
      status.dropLate(id); // acknowledged, here or on another console
      return;
    }
    const known = status.hasLate(id);
    status.lateAlert({ record_id: id });
    if (!known) fillLate(id, api, status); // raised while this console was closed
    return;
  }
  status.alarm(alarm);
  if (alarm.code === "alert_list_stale") {
    if (alarm.active) status.alertListStale();
    refreshSideFacts();
  }
}

// -- actions ------------------------------------------------------------------------------

async function retakePortrait() {
  if (!session.portrait) {
    say("No camera is configured on this workstation.", "warn");
    return;
  }
  const body = JSON.stringify(current?.docId ? { record: current.docId } : {});
  let response;
  try {
    response = await api("/v1/portrait", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body,
    });
  } catch {
    return;
  }
  if (response.status === 202) {
    say("Taking the portrait again.");
    if (current) portraitProgress(current.card, "capturing", [], "");
  } else {
    const answer = await response.json().catch(() => ({}));
    say(`The portrait cannot be taken: ${answer.error || response.status}.`, "warn");
  }
}

function clearScreen() {
  clearTraveller();
  status.clearRefusals();
  say("Screen cleared.");
}

function acknowledgeLateAlerts() {
  return acknowledgeLate(api, status, say);
}

function disarmSignOut() {
  clearTimeout(signoutArmed);
  signoutArmed = null;
  byId("signout-words").textContent = "Sign out";
}

async function signOut() {
  if (!signoutArmed) {
    signoutArmed = setTimeout(disarmSignOut, SIGNOUT_CONFIRM_MS);
    byId("signout-words").textContent = "Press S again to sign out";
    say("Press S again to sign this console out.", "warn");
    return;
  }
  disarmSignOut();
  let response;
  try {
    response = await api("/v1/console/logout", { method: "POST" });
  } catch {
    return; // the session had ended already: the sign-in page is up
  }
  if (response.ok) signedOut("Signed out");
  else say(`Signing out failed (${response.status}).`, "warn");
}

const KEYS = {
  p: retakePortrait,
  escape: clearScreen,
  a: acknowledgeLateAlerts,
  s: signOut,
};

function onKey(event) {
  if (event.ctrlKey || event.altKey || event.metaKey || event.repeat) return;
  if (byId("app").hidden) return; // signed out: no action left
  const action = KEYS[event.key.toLowerCase()];
  if (!action) return;
  event.preventDefault();
  action();
}

// -- the stream ---------------------------------------------------------------------------

function parse(event) {
  try {
    return JSON.parse(event.data);
  } catch {
    return null;
  }
}

const HANDLERS = {
  hello: (d) => {
    status.workstation(d.workstation);
    status.link("up", "Connected");
    refreshSideFacts();
  },
  record: onRecord,
  device: (d) => status.device(d),
  device_error: (d) => status.deviceError(d),
  alarm: onAlarm,
  capture_refused: (d) => status.refused(d),
  sink: (d) => status.sink(d),
  alert_hit: onAlertHit,
  alert_list: (d) => status.alertList({ ...d, configured: true }),
  alert_list_refused: () => refreshSideFacts(),
  portrait_feedback: onPortraitFeedback,
  portrait: onPortraitEnd,
  session_ended: (d) => signedOut(d.reason === "expired" ? "The console session has expired" : "Signed out"),
};

async function refreshSideFacts() {
  try {
    const health = await (await api("/v1/health")).json();
    status.sinksFromHealth(health.sinks);
    if (session.alerts) {
      const response = await api("/v1/alerts/status");
      status.alertList(response.ok ? { ...(await response.json()), configured: true } : null);
    } else {
      status.alertList(null);
    }
  } catch {
    // signed out, or the daemon is restarting: the stream's reconnect brings us back here
  }
}

function follow() {
  stream = new EventSource("/v1/events");
  for (const [type, handler] of Object.entries(HANDLERS)) {
    stream.addEventListener(type, (event) => {
      const data = parse(event);
      if (data !== null) handler(data);
    });
  }
  stream.addEventListener("error", async () => {
    if (!stream) return; // closed here: signed out
    status.link("down", "Connection to the daemon lost: reconnecting\u2026");
    try {
      await api("/v1/console/session");
    } catch {
      // signedOut() ran for a 401; otherwise the daemon is away and EventSource retries
    }
  });
}

async function start() {
  document.addEventListener("keydown", onKey);
  byId("retake").addEventListener("click", retakePortrait);
  byId("clear").addEventListener("click", clearScreen);
  byId("ack").addEventListener("click", acknowledgeLateAlerts);
  byId("signout").addEventListener("click", signOut);
  clearTraveller();
  status.drawDevices();
  status.drawAlarms();
  let response;
  try {
    response = await api("/v1/console/session");
  } catch {
    return;
  }
  if (!response.ok) {
    status.link("down", "The daemon does not answer");
    return;
  }
  session = await response.json();
  byId("retake").disabled = !session.portrait;
  follow();
}

start();
