#!/usr/bin/env bash
# Regenerates acs/testdata/genieacs-auth/goldens.json: each case of cases.json (a `cwmp.auth`
# expression, the device's parameters, the Basic credentials a CPE presents) judged by GenieACS
# 1.2.16's own expression parser and evaluator, with AUTH() answered as its cwmp.ts answers it
# for a Basic request. Not part of the test suite; the suite compares Fibreplane's judgement
# with the goldens this writes (acs/src/genie/auth/tests.rs).
#
# Needs GenieACS's source and node modules where goldens.sh installs them
# (GOLDENS_CACHE, default ~/.cache/fibreplane/genieacs). Nothing of GenieACS enters this
# repository: the harness below imports its modules from that cache at run time.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
cache=${GOLDENS_CACHE:-$HOME/.cache/fibreplane/genieacs}
src=$cache/src
[[ -f "$src/lib/common/expression/util.ts" ]] || {
  echo "no GenieACS source in $src: run benches/genieacs/goldens.sh once" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/judge.ts" <<TS
import { parse } from "$src/lib/common/expression/parser.ts";
import { evaluateAsync } from "$src/lib/common/expression/util.ts";
import * as fs from "node:fs";

// A parameter the case gives is the device's; any other is missing (NULL), as GenieACS's
// evaluation with an empty object makes it. AUTH() compares a Basic request's credentials.
async function judge(c) {
  let exp;
  try {
    exp = parse(c.expression);
  } catch (e) {
    return false;
  }
  const res = await evaluateAsync(exp, {}, 1000, async (e) => {
    if (Array.isArray(e) && e[0] === "PARAM" && typeof e[1] === "string") {
      const v = c.params[e[1]];
      if (v !== undefined) return v;
    }
    if (Array.isArray(e) && e[0] === "FUNC" && e[1] === "AUTH") {
      if (e[2] != null && e[3] != null && c.username != null)
        return c.username === e[2] && c.password === e[3];
      return false;
    }
    return e;
  });
  return !!(res && !Array.isArray(res));
}

(async () => {
  const cases = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  for (const c of cases) c.accepted = await judge(c);
  console.log(JSON.stringify(cases, null, 1));
})();
TS
export NODE_PATH=$src/node_modules
"$src/node_modules/.bin/esbuild" "$work/judge.ts" --bundle --platform=node \
  --outfile="$work/judge.js" --log-level=warning
node "$work/judge.js" "$repo/acs/testdata/genieacs-auth/cases.json" \
  >"$repo/acs/testdata/genieacs-auth/goldens.json"
echo "wrote acs/testdata/genieacs-auth/goldens.json"
