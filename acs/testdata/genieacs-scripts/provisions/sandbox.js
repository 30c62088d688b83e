// Probes the sandbox API on a TR-181 device (the XX230v). Every result is written somewhere
// the device document shows it: into spare SSIDs (10 to 14) or as a tag. args: [label, count].
const now = Date.now();
const [label, count] = args;
const tag = (name) => declare(`Tags.${name}`, null, { value: true });
const out = (n, value) => declare(`Device.WiFi.SSID.${n}.SSID`, { value: now }, { value });

// A wildcard declaration: size, iteration, each instance's path.
const ssids = declare("Device.WiFi.SSID.*.SSID", { path: now, value: now, writable: now });
const numbers = [];
for (const s of ssids) numbers.push(s.path.split(".")[3]);
// An alias filter whose value holds dots.
const on5g = declare("Device.WiFi.SSID.[LowerLayers:Device.WiFi.Radio.2.]", { path: now });
out(10, `n${ssids.size}-5g${on5g.size}-${numbers.slice(0, 3).join(".")}`);

// One parameter's value (with its type), writability and its object's `object` attribute.
const first = declare("Device.WiFi.SSID.1.SSID", { value: now, writable: now });
const object = declare("Device.WiFi.SSID.1", { object: now });
out(11, [`${first.value[1]}|${first.writable}|${object.object}|${first.notification}`, "xsd:string"]);
// Nothing matches: no path, no size.
const missing = declare("Device.WiFi.SSID.99.SSID", { value: now });
if (missing.path === undefined && missing.size === undefined && missing.value === undefined) tag("missing-undefined");

// Writes: an untyped number into an unsignedInt, a typed value, a string into a boolean.
declare("Device.ManagementServer.PeriodicInformInterval", { value: now }, { value: 900 });
declare("Device.DeviceInfo.ProvisioningCode", { value: now }, { value: [`${label}:${typeof count}`, "xsd:string"] });
declare("Device.WiFi.SSID.4.Enable", { value: now }, { value: "false" });

// Attributes: turn on active notification, read the access list.
declare("Device.DeviceInfo.SoftwareVersion", { notification: now }, { notification: 2 });
const acl = declare("Device.ManagementServer.URL", { accessList: now, notification: now });

// Instances: one forwarding entry with these keys, and between 1 and 8 entries in all.
declare("Device.DNS.Relay.Forwarding.[DNSServer:9.9.9.9,Enable:true]", { path: now }, { path: 1 });
declare("Device.DNS.Relay.Forwarding.*", { path: now }, { path: [1, 8] });

// commit() applies what is declared so far; the read after it sees the new entry.
commit();
const servers = [];
for (const f of declare("Device.DNS.Relay.Forwarding.*.DNSServer", { value: now })) {
  if (f.value[0]) servers.push(f.value[0]);
}
out(12, `acl${JSON.stringify(acl.accessList)}-${servers.sort().join("+")}`.slice(0, 32));

// clear() forgets the cached hosts; the declaration after it reads them again.
clear("Device.Hosts.Host", now);
const hosts = declare("Device.Hosts.Host.*.HostName", { path: now, value: now });
if (hosts.size >= 1) tag(`hosts-${hosts.size}`);

// Dates: the session's clock, per-device interval and cron slots, ordinary dates.
const DAY = 86400000;
const phase = Date.now(DAY) % DAY;
const cronPhase = Date.now("0 0 * * *", DAY) % DAY;
if (new Date().getTime() === now) tag("date-is-session");
if (Date.now(3600000, 0) % 3600000 === 0) tag("hour-aligned");
if (now - Date.now("*/15 * * * *") < 900000) tag("cron-quarter");
if (Date.UTC(2020, 0, 1) === Date.parse("2020-01-01T00:00:00Z")) tag("date-utc-parse");
out(13, `p${phase}c${cronPhase}y${new Date(Date.UTC(2021, 5, 1)).getUTCFullYear()}`);

// Math.random: seeded with the device id, then reseeded with a fixed string.
const own = Math.floor(Math.random() * 1e9);
Math.random.seed("fibreplane-goldens");
const fixed = Math.floor(Math.random() * 1e9);
out(14, `r${own}f${fixed}`);

// An extension call (a Node.js module out of process) and a log line.
const shout = ext("goldens-ext", "shout", label, count);
declare("Device.Users.User.1.Username", { value: now }, { value: shout });
log("sandbox probe done", { label, hosts: hosts.size });
