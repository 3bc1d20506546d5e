// A bundle's witness cosignatures (docs/witness.md; lottery/bundle_witnesses.py): witnessed.json,
// the quorum on the checkpoint, and whether the inputs were witnessed before the drand beacon.

import { fromUtf8 } from "./bytes.js";
import { parseJson } from "./jcs.js";
import { roundTime } from "./protocol.js";
import { fail, said } from "./report.js";
import { checkWitnessed, cosignedBy, describe, earliestCosignatures, parseWitnessVkey, quorumMoment, utc } from "./witnessed.js";

export async function checkWitnesses(report, files, verifier, checkpoint, announcement, events, options) {
  const witnesses = [];
  for (const vkey of options.witnesses || []) witnesses.push(await parseWitnessVkey(vkey));
  const quorum = options.quorum ?? witnesses.length;
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const notes = [];
  if (!("witnessed.json" in files)) {
    report.add("witnessed", "skip", said("absent from the bundle", "absent"));
  } else {
    const passed = await report.attempt("witnessed", async () => {
      if (!verifier || !checkpoint) fail("not checked: the checkpoint did not verify");
      notes.push(...(await checkWitnessed(parseJson(files["witnessed.json"], "witnessed.json"), verifier, checkpoint, witnesses, now)));
      const sizes = notes.map((note) => note.checkpoint.size).join(", ");
      return said(`${notes.length} notes, sizes ${sizes || "(none)"} of ${checkpoint.size}`, "witnessed", { count: notes.length, size: checkpoint.size });
    });
    if (!passed) notes.length = 0;
  }
  if (!witnesses.length) {
    report.add("witness-quorum", "skip", said("no --witness given", "no-witnesses"));
    report.add("witness-before-beacon", "skip", said("no --witness given", "no-witnesses"));
    return;
  }
  await report.attempt(
    "witness-quorum",
    async () => {
      if (!checkpoint) fail("no checkpoint that verifies");
      const own = await cosignedBy(fromUtf8(files["checkpoint"]), witnesses, now);
      const sameTree = notes.filter((note) => note.checkpoint.size === checkpoint.size);
      notes.push({ checkpoint, cosigned: own });
      const cosigned = earliestCosignatures([...sameTree, notes[notes.length - 1]], checkpoint.size - 1);
      const missing = witnesses.map((w) => w.name).filter((name) => !(name in cosigned)).sort();
      const absent = missing.length ? `; not by ${missing.join(", ")}` : "";
      if (Object.keys(cosigned).length < quorum) fail(`only ${Object.keys(cosigned).length}: ${describe(cosigned) || "none"}${absent}`);
      const times = Object.entries(cosigned)
        .sort(([, x], [, y]) => x - y)
        .map(([name, moment]) => [name, utc(moment)]);
      const values = { list_times: times, missing: missing.join(", ") };
      return said(`${describe(cosigned)}${absent}`, missing.length ? "cosigned-by-missing" : "cosigned-by", values);
    },
    { quorum, count: witnesses.length },
  );
  checkBeforeBeacon(report, announcement, events, quorum, notes);
}

function checkBeforeBeacon(report, announcement, events, quorum, notes) {
  const id = "witness-before-beacon";
  if (!announcement || announcement.drandRound === null) {
    report.add(id, "skip", said("the draw uses no drand beacon", "no-beacon"));
    return;
  }
  if (!events) {
    report.add(id, "skip", said("no verified events.json to find the logged dice and secret in", "no-events"));
    return;
  }
  const inputs = {};
  for (const logged of events) {
    if (logged.event.type === "draw.input" && ["dice", "secret"].includes(logged.event.name)) inputs[logged.event.name] = logged.index;
  }
  if (!Object.keys(inputs).length) {
    report.add(id, "skip", said("the draw logs no dice or secret input", "no-inputs"));
    return;
  }
  const last = Math.max(...Object.values(inputs));
  const logged = Object.entries(inputs)
    .sort(([, a], [, b]) => a - b)
    .map(([name, index]) => `${name} at index ${index}`)
    .join(", ");
  const beacon = roundTime(announcement.drandRound);
  const beaconText = `drand round ${announcement.drandRound} at ${utc(beacon)}`;
  const earliest = earliestCosignatures(notes, last);
  const moment = quorumMoment(earliest, quorum);
  const seen = describe(earliest) || "none";
  const values = { quorum, round: announcement.drandRound, beacon_time: utc(beacon) };
  if (moment === null) {
    const detail = `${logged}; fewer than ${quorum} witnesses cosigned a checkpoint larger than ${last} (${seen}); ${beaconText}`;
    report.add(id, "fail", said(detail, "not-witnessed", values), { answer: "not-witnessed" });
    return;
  }
  const detail = `${logged}; ${quorum} witnesses had cosigned a checkpoint holding them at ${utc(moment)} (${seen})`;
  const when = { ...values, moment_time: utc(moment) };
  if (moment < beacon) report.add(id, "pass", said(`${detail}, before ${beaconText}`, "witnessed-yes", when), { answer: "yes" });
  else report.add(id, "fail", said(`${detail}, not before ${beaconText}`, "witnessed-no", when), { answer: "no" });
}
