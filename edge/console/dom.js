// DOM building with text nodes only (never HTML from data), and date arithmetic in UTC days.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "text") el.textContent = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function byId(id) {
  return document.getElementById(id);
}

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAY_MS = 86400000;

// "1974-08-12" -> "12 AUG 1974"; partial dates ("1974-08", "1974") as far as they go.
export function showDate(iso) {
  if (typeof iso !== "string" || !iso) return "\u2013";
  const [y, m, d] = iso.split("-");
  const month = m ? MONTHS[Number(m) - 1] || m : "";
  return [d, month, y].filter(Boolean).join(" ");
}

function utcDay(iso) {
  const [y, m, d] = iso.split("-").map(Number);
  return Date.UTC(y, m - 1, d);
}

export function fullDate(value) {
  return typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value);
}

// Whole years from a full birth date to a day.
export function ageOn(birth, day) {
  if (!fullDate(birth)) return null;
  const [by, bm, bd] = birth.split("-").map(Number);
  const [y, m, d] = day.split("-").map(Number);
  return y - by - (m < bm || (m === bm && d < bd) ? 1 : 0);
}

// Days from `day` to `until` (negative once past).
export function daysBetween(day, until) {
  if (!fullDate(until)) return null;
  return Math.round((utcDay(until) - utcDay(day)) / DAY_MS);
}

export function plural(n, one, many) {
  return `${n.toLocaleString("en-GB")} ${n === 1 ? one : many}`;
}

// "2026-09-21T14:13:20.000Z" -> "14:13:20" in the workstation's local time.
export function clock(stamp) {
  const at = new Date(stamp);
  if (Number.isNaN(at.getTime())) return "";
  return at.toLocaleTimeString("en-GB", { hour12: false });
}
