// Connection-request credentials and the periodic-inform schedule, checked once a day.
// args: [periodic inform interval in seconds] (300 when absent).
const DAY = 24 * 60 * 60 * 1000;
// This device's daily slot: Date.now(interval) shifts the boundary by a per-device offset.
const today = Date.now(DAY);
const deviceId = declare("DeviceID.ID", { value: 1 }).value[0];

// Math.random() is seeded with the device id, so a device always gets the same secret.
const ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789";
let secret = "";
for (let i = 0; i < 12; i++) secret += ALPHABET[Math.floor(Math.random() * ALPHABET.length)];

const interval = args.length > 0 ? args[0] : 300;
// The offset inside the day spreads the fleet's periodic informs.
const phase = today % DAY;

for (const root of ["InternetGatewayDevice", "Device"]) {
  const ms = `${root}.ManagementServer`;
  const daily = { value: today };
  declare(`${ms}.ConnectionRequestUsername`, daily, { value: deviceId });
  declare(`${ms}.ConnectionRequestPassword`, daily, { value: secret });
  declare(`${ms}.PeriodicInformEnable`, daily, { value: true });
  declare(`${ms}.PeriodicInformInterval`, daily, { value: interval });
  declare(`${ms}.PeriodicInformTime`, daily, { value: phase });
}
