// The PPPoE user name, readable and writable through one name on both data models.
// args[1] holds what a declaration asks to set; without it the CPE's value is read.
const paths = [
  "InternetGatewayDevice.WANDevice.1.WANConnectionDevice.1.WANPPPConnection.1.Username",
  "Device.PPP.Interface.1.Username",
];
const wanted = args[1].value;
let user = "";
for (const path of paths) {
  const p = wanted
    ? declare(path, { value: Date.now() }, { value: wanted[0] })
    : declare(path, { value: Date.now() });
  if (p.size) user = wanted ? wanted[0] : p.value[0];
}
return { writable: true, value: [user, "xsd:string"] };
