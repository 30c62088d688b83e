// Fibreplane's host for one GenieACS extension file, run by Node.js as
// `node -e <this> <directory> <file>`. Requests arrive on stdin, one JSON line each:
// [id, [function, ...args]]. Answers leave on stdout, one JSON line each: [id, fault, value].
// Whatever the extension itself prints goes out as {"log": text} lines, so it can never be
// mistaken for an answer. Written for Fibreplane from GenieACS's documented behaviour.
"use strict";
const readline = require("readline");
const dir = process.argv[1];
const file = process.argv[2];
const write = process.stdout.write.bind(process.stdout);
const send = (message) => write(JSON.stringify(message) + "\n");
process.stdout.write = (chunk) => {
  send({ log: String(chunk).replace(/\n$/, "") });
  return true;
};
const pending = new Set();
let loaded = null;

function errorToFault(err) {
  if (!err) return null;
  if (!err.name) return { code: "ext", message: String(err), detail: null };
  const detail = { name: err.name, message: err.message };
  if (err.stack) detail.stack = String(err.stack);
  return { code: "ext." + err.name, message: String(err.message), detail: detail };
}

// An uncaught error fails every call in flight and ends the process; the ACS starts a new one
// for the next call, as GenieACS does.
process.on("uncaughtException", (err) => {
  // Said first, so the ACS sends no further call to this process.
  send({ exiting: true });
  const fault = errorToFault(err);
  for (const id of pending) send([id, fault, null]);
  pending.clear();
  process.exit(1);
});
process.on("unhandledRejection", (err) => {
  throw err;
});
process.on("SIGINT", () => {});

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (line) => {
  let message;
  try {
    message = JSON.parse(line);
  } catch (e) {
    return;
  }
  const id = message[0];
  const call = message[1];
  pending.add(id);
  if (!loaded) {
    process.chdir(dir);
    loaded = require(dir + "/" + file);
  }
  const fn = call[0];
  if (typeof loaded[fn] !== "function") {
    pending.delete(id);
    send([id, { code: "ext", message: "No such function '" + fn + "' in extension '" + file + "'", detail: null }, null]);
    return;
  }
  loaded[fn](call.slice(1), (err, res) => {
    if (!pending.delete(id)) return;
    send([id, errorToFault(err), res === undefined ? null : res]);
  });
});
lines.on("close", () => process.exit(0));
