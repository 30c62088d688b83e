// Received optical power in dBm, as a number: Huawei publishes dBm as a string under its GPON
// object, TR-181 devices publish thousandths of a dBm as an int. The result is returned without
// a type, as many published scripts do, so GenieACS infers one from the JavaScript value.
const now = Date.now();
const huawei = declare("InternetGatewayDevice.WANDevice.1.X_GponInterafceConfig.RXPower", { value: now });
const tr181 = declare("Device.Optical.Interface.1.OpticalSignalLevel", { value: now });
let dbm = null;
if (huawei.size) dbm = parseFloat(huawei.value[0]);
else if (tr181.size) dbm = tr181.value[0] / 1000;
if (dbm === null || Number.isNaN(dbm)) return { writable: false, value: ["", "xsd:string"] };
return { writable: false, value: Math.round(dbm * 100) / 100 };
