// Names the customer's Wi-Fi. args: [ssid, passphrase]. The 2.4 GHz networks are found by the
// radio they sit on (an alias filter), the 5 GHz ones get a suffix.
const [ssid, passphrase] = args;
const now = Date.now();

// TR-181: SSID objects point at their radio through LowerLayers.
declare("Device.WiFi.SSID.[LowerLayers:Device.WiFi.Radio.1.].SSID", { value: now }, { value: ssid });
declare("Device.WiFi.SSID.[LowerLayers:Device.WiFi.Radio.2.].SSID", { value: now }, { value: ssid + "-5G" });
declare("Device.WiFi.AccessPoint.1.Security.KeyPassphrase", { value: 1 }, { value: passphrase });

// TR-098: WLANConfiguration 1 is 2.4 GHz and 5 is 5 GHz on this family.
const lan = "InternetGatewayDevice.LANDevice.1.WLANConfiguration";
declare(`${lan}.1.SSID`, { value: now }, { value: ssid });
declare(`${lan}.5.SSID`, { value: now }, { value: [ssid + "-5G", "xsd:string"] });
declare(`${lan}.[SSID:${ssid}].KeyPassphrase`, { value: 1 }, { value: passphrase });
