// The MAC address of the WAN side, whichever data model the device speaks: the first non-empty
// one among TR-098 WAN connections, else the TR-181 upstream Ethernet interface. Read hourly.
const hour = Date.now(3600000);
const candidates = [
  "InternetGatewayDevice.WANDevice.*.WANConnectionDevice.*.WANPPPConnection.*.MACAddress",
  "InternetGatewayDevice.WANDevice.*.WANConnectionDevice.*.WANIPConnection.*.MACAddress",
  "Device.Ethernet.Interface.[Upstream:true].MACAddress",
];
let mac = "";
for (const path of candidates) {
  for (const p of declare(path, { path: hour, value: hour })) {
    if (!mac && p.value[0]) mac = p.value[0];
  }
}
return { writable: false, value: [mac.toUpperCase(), "xsd:string"] };
