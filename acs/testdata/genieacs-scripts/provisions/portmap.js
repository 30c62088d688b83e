// Forwards a port on the PPPoE connection (TR-098). args: [external port, protocol, LAN host,
// internal port, description]. The rule is found by its key (port and protocol) and created
// when missing, so running this twice never adds a second rule.
const [externalPort, protocol, host, internalPort, description] = args;
const table = "InternetGatewayDevice.WANDevice.1.WANConnectionDevice.1.WANPPPConnection.1.PortMapping";
const rule = `${table}.[ExternalPort:${externalPort},PortMappingProtocol:${protocol}]`;
const now = Date.now();

declare(rule, { path: now }, { path: 1 });
declare(`${rule}.InternalClient`, { value: now }, { value: host });
declare(`${rule}.InternalPort`, { value: now }, { value: [internalPort, "xsd:unsignedInt"] });
declare(`${rule}.PortMappingDescription`, { value: now }, { value: description });
declare(`${rule}.PortMappingEnabled`, { value: now }, { value: true });

// Keep between one and four rules in all: a bound, not a target.
declare(`${table}.*`, { path: now }, { path: [1, 4] });
