// Keeps a few subtrees fresh: each path in args is re-read (instances and values) at most once
// an hour. Wi-Fi passphrases read back empty on every CPE, so they are fetched once and never
// refreshed, which keeps a value the ACS wrote.
const hour = Date.now(60 * 60 * 1000);
const fresh = { path: hour, value: hour };
for (const path of args) declare(path, fresh);
declare("InternetGatewayDevice.LANDevice.*.WLANConfiguration.*.KeyPassphrase", { path: hour, value: 1 });
declare("Device.WiFi.AccessPoint.*.Security.KeyPassphrase", { path: hour, value: 1 });
