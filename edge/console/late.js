// Late alert hits: found by a re-check after the traveller left, kept on top of the screen
// until the officer acknowledges them (the daemon keeps an alarm for each until then).

// The alarm of a late hit: `alert_late_hit:<amendment record id>`.
export const LATE_ALARM = "alert_late_hit:";

export function lateOf(amendment) {
  const alert = amendment.payload.alert || {};
  return {
    record_id: amendment.id,
    seq: amendment.seq,
    list_version: alert.list_version,
    references: alert.references,
    read_at: amendment.payload.amends?.captured_at,
  };
}

// A late hit known only by its alarm (raised while this console was closed): what it says.
export async function fillLate(id, api, status) {
  try {
    const response = await api(`/v1/records/${encodeURIComponent(id)}`);
    if (response.ok) status.lateAlert(lateOf(await response.json()));
  } catch {
    // signed out meanwhile
  }
}

export async function acknowledgeLate(api, status, say) {
  const ids = status.lateIds();
  if (!ids.length) {
    say("No late alert hit to acknowledge.");
    return;
  }
  let failed = 0;
  for (const id of ids) {
    const code = encodeURIComponent(LATE_ALARM + id);
    let response;
    try {
      response = await api(`/v1/alarms/${code}/ack`, { method: "POST" });
    } catch {
      return; // signed out
    }
    // 404: acknowledged already (on another console) or never an alarm here.
    if (response.ok || response.status === 404) status.dropLate(id);
    else failed += 1;
  }
  if (failed) say(`A late alert hit could not be acknowledged (${failed}): try again.`, "warn");
  else say("Late alert hits acknowledged.");
}
