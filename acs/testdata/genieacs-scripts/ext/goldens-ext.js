// An extension for the goldens: GenieACS runs it out of process (one child per file) and calls
// its functions as (args, callback).
"use strict";

// Joins its arguments, upper-cased: ext("goldens-ext", "shout", "a", 2) gives "A-2".
exports.shout = function (args, callback) {
  callback(null, args.map(String).join("-").toUpperCase());
};

// Always fails, as an extension whose backend is down would.
exports.broken = function (args, callback) {
  callback(new Error(`backend unreachable for ${args[0]}`));
};
