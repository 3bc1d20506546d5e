// Times and durations as `python -m lottery verify` prints them (lottery/timestamps.py, lottery.events).

/** `2023-09-15T10:40:00Z` for milliseconds since the epoch. */
export function formatTimestamp(ms) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** A duration as people read it: `3 days 9 h 40 min` (whole minutes, rounded down), as lottery.events does. */
export function describeDuration(ms) {
  if (ms < 0) return "-" + describeDuration(-ms);
  const minutes = Math.floor(ms / 60000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  const parts = days ? [`${days} day${days === 1 ? "" : "s"}`] : [];
  if (hours) parts.push(`${hours} h`);
  if (mins || !parts.length) parts.push(`${mins} min`);
  return parts.join(" ");
}
