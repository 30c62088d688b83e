// The GenieACS sandbox, written for Fibreplane from GenieACS's documented behaviour. This file
// is evaluated once per engine context; it returns the function the Rust side calls for each
// run. `host` holds the native functions random() -> number, seed(string or null) and
// cron(expression, ms) -> ms or undefined; each run brings its own match(pattern, revision),
// which answers the JSON of the matching nodes (an array) or of an error ({"error": …}).
(function (host) {
  "use strict";
  const RealDate = Date;
  const realRandom = Math.random;
  const parse = JSON.parse;
  const stringify = JSON.stringify;
  const keysOf = Object.keys;
  const defineProperty = Object.defineProperty;
  const isArray = Array.isArray;
  const COMMIT = { sandbox: "commit" };
  const EXT = { sandbox: "ext" };
  const TYPES = ["xsd:int", "xsd:unsignedInt", "xsd:boolean", "xsd:string", "xsd:dateTime",
    "xsd:base64", "xsd:hexBinary"];
  let st = null;
  let match = null;

  // The nodes `pattern` matches at `revision`, as the Rust side memoises them.
  function lookup(pattern, revision) {
    const found = parse(match(pattern, revision));
    if (!isArray(found)) throw new Error(String(found.error));
    return found;
  }

  // What `declare` returns. Its getters live on the prototype (defining them on every wrapper
  // was a fifth of a short run's CPU); a wrapper holds only its state, under a symbol, so
  // `Object.keys` and `JSON.stringify` of it show nothing, as GenieACS's show nothing either.
  const STATE = Symbol("declaration");

  function ParameterWrapper(pattern, attrs, rev, nodes) {
    this[STATE] = { pattern: pattern, attrs: attrs, rev: rev, nodes: nodes };
  }

  // The nodes of a wrapper at the current revision, committing pending declarations first.
  function unpack(w) {
    const s = w[STATE];
    if (st.uncommitted) commit();
    if (st.revision !== s.rev) {
      s.rev = st.revision;
      s.nodes = lookup(s.pattern, s.rev);
    }
    return s.nodes;
  }

  for (const name of ["value", "writable", "object", "notification", "accessList"]) {
    defineProperty(ParameterWrapper.prototype, name, {
      get: function () {
        // Only the attributes the declaration named are there, as GenieACS defines them.
        if (this[STATE].attrs.indexOf(name) < 0) return undefined;
        const u = unpack(this);
        return u.length ? u[0][name] : undefined;
      },
    });
  }
  defineProperty(ParameterWrapper.prototype, "path", {
    get: function () {
      const u = unpack(this);
      return u.length ? u[0].path : undefined;
    },
  });
  defineProperty(ParameterWrapper.prototype, "size", {
    get: function () {
      const u = unpack(this);
      return u.length ? u.length : undefined;
    },
  });
  ParameterWrapper.prototype[Symbol.iterator] = function* () {
    const u = unpack(this);
    const at = st.revision;
    const attrs = this[STATE].attrs;
    for (const n of u) yield new ParameterWrapper(n.path, attrs, at, [n]);
  };

  function declare(path, timestamps, values) {
    st.uncommitted = true;
    if (typeof path !== "string") throw new TypeError("Path must be a string");
    if (!timestamps) timestamps = {};
    if (!values) values = {};
    const d = { path: path, pathGet: 1, pathSet: null, attrGet: {}, attrSet: {}, defer: true };
    const attrs = [];
    for (const name of keysOf(values)) {
      const v = values[name];
      if (name === "path") {
        d.pathSet = isArray(v) ? { min: count(v[0]), max: count(v[1]) }
          : { min: count(v), max: count(v) };
      } else {
        if (attrs.indexOf(name) < 0) attrs.push(name);
        d.attrGet[name] = 1;
        d.attrSet[name] = name === "value" && !isArray(v) ? [v] : v;
      }
    }
    for (const name of keysOf(timestamps)) {
      const t = timestamps[name];
      if (!(t >= 1)) continue;
      if (name === "path") {
        d.pathGet = Math.min(+t, st.ts);
      } else {
        if (attrs.indexOf(name) < 0) attrs.push(name);
        d.attrGet[name] = Math.min(+t, st.ts);
      }
    }
    st.declarations.push(d);
    return new ParameterWrapper(path, attrs, -1, null);
  }

  // An instance count: a non-negative integer, or null for "no bound".
  function count(v) {
    if (v == null) return null;
    const n = Math.trunc(+v);
    return n >= 0 && n < 4294967296 ? n : null;
  }

  function clear(path, timestamp, attributes) {
    st.uncommitted = true;
    if (st.revision !== st.maxRevision) return;
    let attrs = null;
    if (attributes) {
      attrs = {};
      for (const k of keysOf(attributes)) attrs[k] = Math.min(+attributes[k], st.ts);
    }
    st.clear.push({ path: String(path), timestamp: Math.min(+timestamp, st.ts), attributes: attrs });
  }

  function commit() {
    ++st.revision;
    st.uncommitted = false;
    if (st.revision === st.maxRevision + 1) {
      for (const d of st.declarations) d.defer = false;
      throw COMMIT;
    } else if (st.revision > st.maxRevision + 1) {
      throw new Error("Declare function should not be called from within a try/catch block");
    }
  }

  function ext() {
    ++st.extCounter;
    const call = [];
    for (let i = 0; i < arguments.length; i++) call.push(String(arguments[i]));
    const key = st.revision + ": " + stringify(call);
    if (Object.prototype.hasOwnProperty.call(st.extCache, key)) return st.extCache[key];
    st.ext.push({ key: key, args: call });
    throw EXT;
  }

  function log(msg, meta) {
    if (st.revision === st.maxRevision && st.extCounter >= 0) {
      let m = null;
      try { m = meta === undefined ? null : parse(stringify(meta)); } catch (e) { m = null; }
      st.logs.push({ message: "Script: " + msg, meta: m === undefined ? null : m });
    }
  }

  class SandboxDate {
    constructor(...a) {
      if (a.length) return new RealDate(...a);
      return new RealDate(st.ts);
    }
    static now(intervalOrCron, variance) {
      let t = st.ts;
      if (typeof intervalOrCron === "number") {
        if (variance == null) variance = intervalOrCron;
        const offset = variance ? st.md532 % variance : 0;
        t = Math.trunc((t + offset) / intervalOrCron) * intervalOrCron - offset;
      } else if (typeof intervalOrCron === "string") {
        const offset = variance ? st.md532 % variance : 0;
        const prev = host.cron(intervalOrCron, t + offset);
        t = prev == null ? 0 : prev - offset;
      } else if (intervalOrCron) {
        throw new Error("Invalid Date.now() argument");
      }
      return t;
    }
    static parse(s) { return RealDate.parse(s); }
    static UTC(...a) { return RealDate.UTC(...a); }
  }

  // seedrandom's flattening of a seed to the string its key is mixed from.
  function flatten(obj, depth) {
    const out = [];
    const typ = typeof obj;
    if (depth && typ === "object") {
      for (const prop in obj) {
        try { out.push(flatten(obj[prop], depth - 1)); } catch (e) { /* skipped like seedrandom */ }
      }
    }
    return out.length ? out : typ === "string" ? obj : obj + "\0";
  }

  function random() { return host.random(); }
  random.seed = function (s) {
    host.seed(s == null ? null : String(flatten(s, 3)));
  };

  function errorToFault(err) {
    // QuickJS throws null when it runs out of memory so badly it cannot build an error; the
    // Rust side classifies what escapes the run.
    if (err === null) throw err;
    if (err && err.name === "InternalError" && /out of memory/.test(String(err.message))) throw err;
    if (!err || !err.name) return { code: "script", message: String(err), detail: null };
    const detail = { name: String(err.name), message: String(err.message) };
    if (err.stack) detail.stack = String(err.stack);
    return { code: "script." + err.name, message: String(err.message), detail: detail };
  }

  function sanitize(v, t) {
    if (v == null) return v;
    switch (t) {
      case "xsd:boolean": {
        if (typeof v === "boolean") return v;
        const s = "" + v;
        if (s === "true" || s === "TRUE" || s === "True" || s === "1") return true;
        if (s === "false" || s === "FALSE" || s === "False" || s === "0") return false;
        return s;
      }
      case "xsd:int":
      case "xsd:unsignedInt": {
        if (typeof v === "number") return v;
        const i = parseInt(v);
        return isNaN(i) ? "" + v : i;
      }
      case "xsd:dateTime": {
        if (typeof v === "number") return v;
        let i = +v;
        if (isNaN(i)) {
          i = RealDate.parse(v);
          return isNaN(i) ? "" + v : i;
        }
        return i;
      }
      default:
        return "" + v;
    }
  }

  // A virtual parameter's return value, checked as GenieACS checks it.
  function virtualValue(ret, name, args) {
    if (!ret) return { fault: { code: "script", message: "Invalid virtual parameter return value", detail: null } };
    const out = {};
    const declaredTs = args[0] || {};
    const declaredValues = args[1] || {};
    if (ret.writable != null) {
      out.writable = !!ret.writable;
    } else if (declaredTs.writable != null || declaredValues.writable != null) {
      return { fault: { code: "script", message: "Virtual parameter '" + name + "' must provide 'writable' attribute", detail: null } };
    }
    if (ret.value != null) {
      let v, t;
      if (isArray(ret.value)) { v = ret.value[0]; t = ret.value[1]; } else { v = ret.value; }
      if (!t) {
        if (typeof v === "number") t = "xsd:int";
        else if (typeof v === "boolean") t = "xsd:boolean";
        // GenieACS spells this type in lower case, so a Date returned without a type is
        // refused below as an invalid type, exactly as GenieACS refuses it.
        else if (v instanceof RealDate) t = "xsd:datetime";
        else t = "xsd:string";
      }
      if (v == null || TYPES.indexOf(t) < 0) {
        return { fault: { code: "script", message: "Invalid virtual parameter value attribute", detail: null } };
      }
      out.value = [sanitize(v, t), t];
    } else if (declaredTs.value != null || declaredValues.value != null) {
      return { fault: { code: "script", message: "Virtual parameter '" + name + "' must provide 'value' attribute", detail: null } };
    }
    return { value: out };
  }

  // Number#toString with a radix other than 10, as V8 (and so GenieACS) prints it: scripts
  // make passwords with `Math.random().toString(36)`, and QuickJS rounds the last digit
  // differently. V8's rule: emit fraction digits while they still distinguish the value from
  // its neighbours (half the gap to the next double), round half to even with carry, and
  // print integer digits that a double cannot hold as zeros.
  const realToString = Number.prototype.toString;
  const CHARS = "0123456789abcdefghijklmnopqrstuvwxyz";
  const bits = new Float64Array(1);
  const raw = new BigUint64Array(bits.buffer);
  function nextUp(x) {
    bits[0] = x;
    raw[0] += 1n;
    return bits[0];
  }
  function radixString(value, radix) {
    const negative = value < 0;
    if (negative) value = -value;
    let integer = Math.floor(value);
    let fraction = value - integer;
    let delta = Math.max(nextUp(0), 0.5 * (nextUp(value) - value));
    const digits = [];
    if (fraction >= delta) {
      do {
        fraction *= radix;
        delta *= radix;
        const digit = Math.floor(fraction);
        digits.push(digit);
        fraction -= digit;
        if (fraction > 0.5 || (fraction === 0.5 && (digit & 1))) {
          if (fraction + delta > 1) {
            let i = digits.length - 1;
            for (;;) {
              if (i < 0) {
                integer += 1;
                digits.length = 0;
                break;
              }
              if (digits[i] + 1 < radix) {
                digits[i] += 1;
                digits.length = i + 1;
                break;
              }
              i -= 1;
            }
            break;
          }
        }
      } while (fraction >= delta);
    }
    let head = "";
    while (integer / radix >= 9007199254740992) {
      integer /= radix;
      head = "0" + head;
    }
    do {
      const remainder = integer % radix;
      head = CHARS[Math.trunc(remainder)] + head;
      integer = (integer - remainder) / radix;
    } while (integer > 0);
    let out = negative ? "-" + head : head;
    if (digits.length) out += "." + digits.map((d) => CHARS[d]).join("");
    return out;
  }
  defineProperty(Number.prototype, "toString", {
    value: function toString(radix) {
      const x = Number.prototype.valueOf.call(this);
      if (radix === undefined || !isFinite(x)) return realToString.call(x, radix);
      const r = Math.trunc(+radix);
      if (r === 10 || !(r >= 2 && r <= 36)) return realToString.call(x, radix);
      return radixString(x, r);
    },
    writable: true,
    configurable: true,
    enumerable: false,
  });

  const globals = { declare: declare, clear: clear, commit: commit, ext: ext, log: log, Date: SandboxDate };
  for (const name of keysOf(globals)) {
    defineProperty(globalThis, name, { value: globals[name], writable: false, configurable: false, enumerable: false });
  }
  const baseline = new Set(Object.getOwnPropertyNames(globalThis));
  // Whether the last run's script may have left globals (swept before the next run).
  let leftovers = false;

  // One run: `fn` is the compiled script, `input` the JSON of the run's state, `global` whether
  // the script may have left names on the global object (the Rust side reads its source).
  return function run(fn, input, matcher, global) {
    const i = parse(input);
    match = matcher;
    st = {
      ts: i.ts, md532: i.md532, revision: i.startRevision, maxRevision: i.maxRevision,
      uncommitted: false, declarations: [], ext: [], clear: [], logs: [],
      extCounter: i.extCounter, extCache: i.extCache,
    };
    // Names a script assigned on the global object are enumerable, and the built-ins are not:
    // `keysOf` finds them without walking every global name. A script that names the ways to
    // define non-enumerable globals (`global`) gets the full sweep after it.
    const names = leftovers ? Object.getOwnPropertyNames(globalThis) : keysOf(globalThis);
    for (const name of names) {
      if (!baseline.has(name)) {
        try { delete globalThis[name]; } catch (e) { /* a non-configurable leftover stays */ }
      }
    }
    leftovers = global;
    Math.random = random;
    globalThis.args = i.args;
    let status = "done";
    let ret;
    let fault = null;
    try {
      ret = fn();
    } catch (err) {
      if (err === COMMIT) status = "commit";
      else if (err === EXT) status = "ext";
      else { status = "fault"; fault = errorToFault(err); }
    }
    let virtual = null;
    if (status === "done" && i.virtual != null) {
      const r = virtualValue(ret, i.virtual, i.args);
      if (r.fault) { status = "fault"; fault = r.fault; } else virtual = r.value;
    }
    const out = stringify({
      status: status, declarations: st.declarations, clear: st.clear, logs: st.logs,
      ext: st.ext, extCounter: i.extCounter - st.extCounter, fault: fault, virtual: virtual,
    });
    st = null;
    match = null;
    Math.random = realRandom;
    return out;
  };
})
