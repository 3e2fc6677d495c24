// The workstation around the traveller: link, devices, alarms, forwarding, the alert list.

import { byId, clock, h, plural, showDate } from "./dom.js";
import { DEVICE_ERRORS, DEVICE_STATES, SINK_STATES } from "./words.js";

const KINDS = { camera: "Camera", sim: "Reader", wedge: "Keyboard reader" };

function deviceKind(driver) {
  if (KINDS[driver]) return KINDS[driver];
  if (driver.startsWith("mrz") || driver === "access-stx") return "Document reader";
  if (driver.startsWith("barcode")) return "Barcode scanner";
  return "Device";
}

export class Status {
  constructor() {
    this.devices = new Map(); // name -> snapshot
    this.problems = new Map(); // device name -> last device_error
    this.alarms = new Map(); // code -> alarm
    this.refusals = []; // capture_refused, until the next traveller
    this.sinks = new Map(); // name -> {state, backlog}
    // Late alert hits by amendment record id, until acknowledged: from alert_hit events,
    // alarms and replayed amendment records.
    this.lateAlerts = new Map();
    this.list = null; // the alert list in force as last told
    this.staleTimer = null;
  }

  link(state, words) {
    const el = byId("link");
    el.className = `pill link-${state}`;
    el.replaceChildren(h("span", { class: "mark", "aria-hidden": "true" }, state === "up" ? "\u25CF" : "\u2717"), words);
  }

  workstation(name) {
    byId("workstation").textContent = name;
  }

  device(snapshot) {
    this.devices.set(snapshot.name, snapshot);
    if (snapshot.state === "ready") this.problems.delete(snapshot.name);
    this.drawDevices();
  }

  deviceError(event) {
    this.problems.set(event.device, event);
    this.drawDevices();
  }

  drawDevices() {
    const items = [...this.devices.values()].map((d) => {
      const state = DEVICE_STATES[d.state] || { word: d.state, tone: "warn", mark: "?" };
      const problem = this.problems.get(d.name);
      const detail = [d.state !== "ready" ? d.detail : "", problem ? `last problem: ${DEVICE_ERRORS[problem.code] || problem.code.replaceAll("_", " ")} (${plural(problem.bytes || 0, "byte", "bytes")})` : ""].filter(Boolean).join(" \u00B7 ");
      return h(
        "li",
        { class: `device tone-${state.tone}`, "data-device": d.name, "data-state": d.state },
        h("span", { class: "mark", "aria-hidden": "true" }, state.mark),
        h("span", { class: "device-name" }, d.name),
        h("span", { class: "device-state" }, state.word),
        h("span", { class: "device-kind" }, deviceKind(d.driver)),
        detail ? h("span", { class: "device-detail" }, detail) : null,
      );
    });
    byId("devices").replaceChildren(...(items.length ? items : [h("li", { class: "muted" }, "No devices configured")]));
  }

  alarm(alarm) {
    if (alarm.active) this.alarms.set(alarm.code, alarm);
    else this.alarms.delete(alarm.code);
    this.drawAlarms();
  }

  refused(event) {
    this.refusals.push(event);
    this.drawAlarms();
  }

  clearRefusals() {
    if (!this.refusals.length) return;
    this.refusals = [];
    this.drawAlarms();
  }

  drawAlarms() {
    const items = [];
    for (const r of this.refusals) {
      items.push(h("li", { class: "alarm refused" }, h("span", { class: "mark", "aria-hidden": "true" }, "\u2717"), `A read on \u201C${r.device}\u201D at ${clock(r.captured_at)} was NOT stored: read it again.`));
    }
    for (const a of this.alarms.values()) {
      items.push(h("li", { class: "alarm", "data-alarm": a.code }, h("span", { class: "mark", "aria-hidden": "true" }, "\u26A0"), a.message.charAt(0).toUpperCase() + a.message.slice(1), h("span", { class: "since" }, ` since ${clock(a.raised_at)}`)));
    }
    const box = byId("alarms");
    box.replaceChildren(...(items.length ? items : [h("li", { class: "muted" }, "No alarms")]));
    byId("alarms-box").classList.toggle("active", items.length > 0);
  }

  sink(status) {
    const name = status.sink || status.name;
    this.sinks.set(name, { state: status.state, backlog: status.backlog });
    this.drawForwarding();
  }

  sinksFromHealth(sinks) {
    for (const [name, s] of Object.entries(sinks || {})) this.sinks.set(name, { state: s.state, backlog: s.backlog });
    this.drawForwarding();
  }

  drawForwarding() {
    const el = byId("forwarding");
    if (!this.sinks.size) {
      el.className = "pill";
      el.textContent = "Stored on this workstation (no forwarding configured)";
      return;
    }
    const waiting = Math.max(...[...this.sinks.values()].map((s) => s.backlog || 0));
    const troubled = [...this.sinks.entries()].filter(([, s]) => s.state !== "ok" && s.state !== "starting");
    el.className = `pill ${troubled.length ? "tone-warn" : "tone-good"}`;
    el.replaceChildren(
      ...[
      h("span", { class: "mark", "aria-hidden": "true" }, troubled.length ? "!" : "\u2713"),
      h("span", { id: "forwarding-text" }, waiting ? `Stored on this workstation, ${waiting.toLocaleString("en-GB")} waiting for the region` : "Stored on this workstation, all sent to the region"),
      troubled.length ? h("span", { class: "extra" }, ` (${troubled.map(([n, s]) => `${n}: ${SINK_STATES[s.state] || s.state}`).join(", ")})`) : null,
      ].filter(Boolean),
    );
  }

  alertList(list) {
    this.list = list;
    this.drawAlertList();
    this.armStaleTimer();
  }

  // The list passes its expiry while the console is open: the pill turns stale at that
  // moment (the daemon's alert_list_stale alarm follows at its next look).
  armStaleTimer() {
    clearTimeout(this.staleTimer);
    this.staleTimer = null;
    const list = this.list;
    if (!list || list.version === null || list.version === undefined || list.stale) return;
    const left = Date.parse(list.expires_at) - Date.now();
    if (!Number.isFinite(left)) return;
    if (left <= 0) {
      this.alertListStale();
      return;
    }
    // setTimeout holds at most ~24 days; a later expiry re-arms when it fires.
    this.staleTimer = setTimeout(() => this.armStaleTimer(), Math.min(left + 200, 2 ** 31 - 1));
  }

  alertListStale() {
    if (!this.list || this.list.version === null || this.list.version === undefined) return;
    clearTimeout(this.staleTimer);
    this.staleTimer = null;
    this.list = { ...this.list, stale: true };
    this.drawAlertList();
  }

  drawAlertList() {
    const list = this.list;
    const el = byId("alert-list");
    if (!list || list.configured === false) {
      el.className = "pill";
      el.textContent = "Alert lists not used on this workstation";
      return;
    }
    if (list.version === null || list.version === undefined) {
      el.className = "pill tone-bad";
      el.replaceChildren(h("span", { class: "mark", "aria-hidden": "true" }, "\u2717"), "NO ALERT LIST: travellers are not checked");
      return;
    }
    const stale = Boolean(list.stale);
    el.className = `pill ${stale ? "tone-bad stale" : "tone-good"}`;
    el.dataset.stale = String(stale);
    el.replaceChildren(
      h("span", { class: "mark", "aria-hidden": "true" }, stale ? "\u26A0" : "\u2713"),
      stale ? `Alert list v${list.version} is STALE (expired ${showDate(String(list.expires_at).slice(0, 10))})` : `Alert list v${list.version}, valid to ${showDate(String(list.expires_at).slice(0, 10))}`,
    );
  }

  // hit: {record_id (the amendment's), seq, list_version, references}; known parts are kept
  // when a later source (an alarm) knows less.
  lateAlert(hit) {
    const merged = { ...(this.lateAlerts.get(hit.record_id) || {}) };
    for (const [key, value] of Object.entries(hit)) if (value !== null && value !== undefined) merged[key] = value;
    this.lateAlerts.set(hit.record_id, merged);
    this.drawLateAlerts();
  }

  hasLate(id) {
    return this.lateAlerts.has(id);
  }

  lateIds() {
    return [...this.lateAlerts.keys()];
  }

  dropLate(id) {
    if (this.lateAlerts.delete(id)) this.drawLateAlerts();
  }

  forgetLateAlerts() {
    this.lateAlerts.clear();
    this.drawLateAlerts();
  }

  drawLateAlerts() {
    const box = byId("late-alerts");
    box.hidden = this.lateAlerts.size === 0;
    box.replaceChildren(
      ...[...this.lateAlerts.values()].map((hit) => {
        const refs = (hit.references || []).map((r) => r.ref).join(", ");
        const when = hit.read_at ? ` read at ${clock(hit.read_at)}` : "";
        const record = hit.seq ? `amendment record ${hit.seq}` : "an amendment record";
        const list = hit.list_version ? `, found with alert list v${hit.list_version}` : "";
        return h("p", { class: "late-alert", role: "alert", "data-amendment": hit.record_id }, h("span", { class: "mark", "aria-hidden": "true" }, "\u26A0"), `LATE ALERT HIT on an earlier traveller${when} (${record}${list}). Call headquarters${refs ? `, reference ${refs}` : ""}. Press A to acknowledge.`);
      }),
    );
  }
}
