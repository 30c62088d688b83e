// First contact (0 BOOTSTRAP): whatever the ACS remembers of this device is from before a
// factory reset, so invalidate both data-model roots and read the identity again at once.
const bootstrappedAt = Date.now();
for (const root of ["Device", "InternetGatewayDevice"]) clear(root, bootstrappedAt);
declare("*.DeviceInfo.*", { path: bootstrappedAt, value: bootstrappedAt });
